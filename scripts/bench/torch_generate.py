"""PyTorch eager baseline for `finemed bench generate`: the same decoder, weights and KV cache.

Usage (the CLI runs it with OMP_NUM_THREADS / OPENBLAS_CORETYPE set):
  /usr/bin/python3 scripts/bench/torch_generate.py --model DIR --threads 2 \
      --prompt 16 --new 64 --prefill 128 --batch 8
Loads a Hugging Face folder written by finemed (config.json + F32 model.safetensors, read by
hand: the safetensors package is not installed) into a Llama/Qwen2 decoder written the way
transformers' eager path runs it (F.linear projections, rotary, repeat_interleave for GQA,
matmul-softmax-matmul attention, SwiGLU MLP, a KV cache grown with torch.cat), then times:
prefill of one `--prefill`-token prompt; greedy decode of `--new` tokens after a `--prompt`-
token prompt at batch 1 and at `--batch`. Prints one JSON object with tokens/s, the greedy
tokens of the batch-1 run (to check both sides computed the same thing) and the BLAS in use.
"""
import argparse
import json
import math
import struct
import time

import torch
import torch.nn.functional as F

from blas_report import blas_info


def read_safetensors(path):
    with open(path, 'rb') as fh:
        n = struct.unpack('<Q', fh.read(8))[0]
        header = json.loads(fh.read(n))
        data = fh.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise SystemExit(f'{path}: {name}: only F32 weights are supported by this baseline')
        begin, end = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).view(info['shape'])
    return out


class Decoder:
    def __init__(self, folder):
        with open(f'{folder}/config.json') as fh:
            c = json.load(fh)
        self.c = c
        self.w = read_safetensors(f'{folder}/model.safetensors')
        self.hd = c.get('head_dim') or c['hidden_size'] // c['num_attention_heads']
        self.nh = c['num_attention_heads']
        self.nkv = c.get('num_key_value_heads') or self.nh
        if c.get('rope_scaling'):
            raise SystemExit('rope scaling is not implemented in this baseline')
        self.inv_freq = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.head = self.w['model.embed_tokens.weight'] if c.get('tie_word_embeddings') else self.w['lm_head.weight']

    def lin(self, x, name):
        return F.linear(x, self.w[name + '.weight'], self.w.get(name + '.bias'))

    def norm(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c['rms_norm_eps']) * self.w[name]

    def forward(self, ids, past, start):
        """Logits of the last position and the grown cache; `start` = positions already cached."""
        b, t = ids.shape
        pos = torch.arange(start, start + t, dtype=torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]

        def rope(x):
            half = x.shape[-1] // 2
            return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin

        mask = None
        if t > 1:
            mask = torch.full((t, start + t), float('-inf')).triu(start + 1)
        x = self.w['model.embed_tokens.weight'][ids]
        presents = []
        for i in range(self.c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            h = self.norm(x, p + 'input_layernorm.weight')
            q = rope(self.lin(h, p + 'self_attn.q_proj').view(b, t, self.nh, self.hd).transpose(1, 2))
            k = rope(self.lin(h, p + 'self_attn.k_proj').view(b, t, self.nkv, self.hd).transpose(1, 2))
            v = self.lin(h, p + 'self_attn.v_proj').view(b, t, self.nkv, self.hd).transpose(1, 2)
            if past is not None:
                k = torch.cat((past[i][0], k), 2)
                v = torch.cat((past[i][1], v), 2)
            presents.append((k, v))
            rep = self.nh // self.nkv
            kk, vv = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            scores = q @ kk.transpose(-1, -2) / math.sqrt(self.hd)
            if mask is not None:
                scores = scores + mask
            attn = (torch.softmax(scores, -1) @ vv).transpose(1, 2).reshape(b, t, self.nh * self.hd)
            x = x + self.lin(attn, p + 'self_attn.o_proj')
            h = self.norm(x, p + 'post_attention_layernorm.weight')
            x = x + self.lin(F.silu(self.lin(h, p + 'mlp.gate_proj')) * self.lin(h, p + 'mlp.up_proj'), p + 'mlp.down_proj')
        x = self.norm(x[:, -1:], 'model.norm.weight')
        return F.linear(x, self.head)[:, -1], presents


def decode(model, prompts, new):
    """Greedy tokens and the seconds spent in decode steps (the prefill excluded)."""
    logits, past = model.forward(prompts, None, 0)
    tokens = []
    start = time.perf_counter()
    for step in range(new):
        nxt = logits.argmax(-1)
        tokens.append(nxt.tolist())
        if step + 1 == new:
            break
        logits, past = model.forward(nxt[:, None], past, prompts.shape[1] + step)
    return tokens, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--prompt', type=int, default=16)
    ap.add_argument('--new', type=int, default=64)
    ap.add_argument('--prefill', type=int, default=128)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Decoder(args.model)
    vocab = model.c['vocab_size']
    prompt = torch.tensor([[(i * 37) % vocab for i in range(args.prompt)]])
    batch = torch.tensor([[(i * 37 + b) % vocab for i in range(args.prompt)] for b in range(args.batch)])
    long = torch.tensor([[(i * 91) % vocab for i in range(args.prefill)]])
    with torch.inference_mode():
        decode(model, prompt, 4)  # warm-up
        best = {'prefill': math.inf, 'decode1': math.inf, 'decodeB': math.inf}
        tokens = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            model.forward(long, None, 0)
            best['prefill'] = min(best['prefill'], time.perf_counter() - start)
            tokens, seconds = decode(model, prompt, args.new)
            best['decode1'] = min(best['decode1'], seconds)
            _, seconds = decode(model, batch, args.new)
            best['decodeB'] = min(best['decodeB'], seconds)
    steps = args.new - 1
    print(json.dumps({
        'prefill_tokens_per_s': args.prefill / best['prefill'],
        'decode_b1_tokens_per_s': steps / best['decode1'],
        'decode_batch_tokens_per_s': steps * args.batch / best['decodeB'],
        'greedy_tokens_b1': [t[0] for t in tokens],
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'blas': blas_info(),
    }))


if __name__ == '__main__':
    main()
