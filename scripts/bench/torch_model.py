"""PyTorch baseline for `finemed bench model`: a plain Llama/Qwen2 on the same safetensors folder.

Usage (the CLI runs it with OMP_NUM_THREADS / OPENBLAS_CORETYPE set):
  /usr/bin/python3 scripts/bench/torch_model.py --model DIR --threads 2 [--repeats 2] [--phases score,options]
Prints one JSON object with the same phases as the engine's side, float32 weights throughout:
  load_seconds                   read config.json and the safetensors files into float32 tensors
  score_ms_512                   one forward pass over a 511-token prompt, log-probability of the next token
  options_ms_512x4               511-token prompt once (KV cache), then four one-token options as a batch
  lora_train_tokens_per_s        rank-16 LoRA on q,k,v,o,gate,up,down, batch 2 x 256, loss on every
                                 position, forward + backward + AdamW on the adapters
  ttt_lora_seconds_per_question  one AdamW step on a 300-token neighbour (fresh adapters), four
                                 8-token options scored after a 300-token question, adapters restored
  peak_rss_mb, torch, threads, blas (as blas_report.py reports it)
Timed figures are the median of --repeats runs after one untimed warm-up.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blas_report import blas_info  # noqa: E402

PHASES = ('load', 'score', 'options', 'lora', 'ttt')
LORA_TARGETS = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj')


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True, help='Hugging Face model folder (Llama/Qwen2)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=2, help='timed runs per phase (median)')
    ap.add_argument('--rank', type=int, default=16)
    ap.add_argument('--phases', default=','.join(PHASES), help='phases to run, comma-separated')
    a = ap.parse_args(argv)
    if a.threads < 1 or a.repeats < 1 or a.rank < 1:
        ap.error('--threads, --repeats and --rank must be at least 1')
    a.phases = a.phases.split(',')
    unknown = [p for p in a.phases if p not in PHASES]
    if unknown:
        ap.error(f'--phases: unknown {",".join(unknown)} (phases: {",".join(PHASES)})')
    return a


def read_safetensors(path):
    """Every tensor of one file as float32 (BF16 widened by a 16-bit shift, F16 by torch)."""
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(n))
        data = bytearray(os.fstat(f.fileno()).st_size - 8 - n)
        f.readinto(data)
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        raw = torch.frombuffer(data, dtype=torch.uint8, count=end - begin, offset=begin)
        if info['dtype'] == 'F32':
            t = raw.view(torch.float32).clone()
        elif info['dtype'] == 'BF16':
            t = raw.view(torch.int16).to(torch.int32).bitwise_left_shift(16).view(torch.float32)
        elif info['dtype'] == 'F16':
            t = raw.view(torch.float16).float()
        else:
            raise SystemExit(f'{path}: {name}: unsupported dtype {info["dtype"]}')
        out[name] = t.reshape(info['shape'])
    return out


def read_folder(folder):
    index = os.path.join(folder, 'model.safetensors.index.json')
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)['weight_map'].values()))
    else:
        shards = ['model.safetensors']
    weights = {}
    for shard in shards:
        weights.update(read_safetensors(os.path.join(folder, shard)))
    return weights


class Model:
    """Llama/Qwen2 decoder over a dict of Hugging Face tensors, with optional LoRA and a KV cache."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.layers = cfg['num_hidden_layers']
        self.heads = cfg['num_attention_heads']
        self.kv_heads = cfg.get('num_key_value_heads', self.heads)
        self.head_dim = cfg.get('head_dim') or cfg['hidden_size'] // self.heads
        self.eps = cfg.get('rms_norm_eps', 1e-6)
        theta = cfg.get('rope_theta', 10000.0)
        self.inv_freq = 1.0 / theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim)
        self.lora = {}
        self.lora_scale = 0.0
        self.head = w['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings') else w['lm_head.weight']

    def add_lora(self, rank):
        self.lora_scale = 2.0  # alpha = 2r, as the engine's default
        for i in range(self.layers):
            for t in LORA_TARGETS:
                part = 'mlp' if t in ('gate_proj', 'up_proj', 'down_proj') else 'self_attn'
                base = self.w[f'model.layers.{i}.{part}.{t}.weight']
                a = (torch.randn(rank, base.shape[1]) / math.sqrt(base.shape[1])).requires_grad_()
                b = torch.zeros(base.shape[0], rank, requires_grad=True)
                self.lora[(i, t)] = (a, b)
        return [p for pair in self.lora.values() for p in pair]

    def linear(self, x, i, part, name):
        prefix = f'model.layers.{i}.{part}.{name}'
        y = F.linear(x, self.w[prefix + '.weight'], self.w.get(prefix + '.bias'))
        ab = self.lora.get((i, name))
        if ab is not None:
            y = y + self.lora_scale * F.linear(F.linear(x, ab[0]), ab[1])
        return y

    def norm(self, x, name):
        return self.w[name] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, positions):
        freqs = positions[:, None].float() * self.inv_freq[None, :]
        cos, sin = torch.cat([freqs, freqs], -1).cos(), torch.cat([freqs, freqs], -1).sin()
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    def hidden(self, ids, past=None):
        """Final hidden states of ids [B, T] after `past` (per-layer (k, v) of one shared prefix)."""
        b, t = ids.shape
        start = past[0][0].shape[2] if past else 0
        positions = torch.arange(start, start + t)
        x = self.w['model.embed_tokens.weight'][ids]
        mask = torch.full((t, start + t), float('-inf')).triu(start + 1)
        cache = []
        group = self.heads // self.kv_heads
        for i in range(self.layers):
            h = self.norm(x, f'model.layers.{i}.input_layernorm.weight')
            q = self.linear(h, i, 'self_attn', 'q_proj').view(b, t, self.heads, -1).transpose(1, 2)
            k = self.linear(h, i, 'self_attn', 'k_proj').view(b, t, self.kv_heads, -1).transpose(1, 2)
            v = self.linear(h, i, 'self_attn', 'v_proj').view(b, t, self.kv_heads, -1).transpose(1, 2)
            q, k = self.rope(q, positions), self.rope(k, positions)
            cache.append((k, v))
            if past:
                pk, pv = past[i]
                k = torch.cat([pk.expand(b, -1, -1, -1), k], 2)
                v = torch.cat([pv.expand(b, -1, -1, -1), v], 2)
            k = k.repeat_interleave(group, 1)
            v = v.repeat_interleave(group, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask, -1)
            o = (att @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + self.linear(o, i, 'self_attn', 'o_proj')
            h = self.norm(x, f'model.layers.{i}.post_attention_layernorm.weight')
            gate = F.silu(self.linear(h, i, 'mlp', 'gate_proj'))
            x = x + self.linear(gate * self.linear(h, i, 'mlp', 'up_proj'), i, 'mlp', 'down_proj')
        return self.norm(x, 'model.norm.weight'), cache

    def logits(self, hidden):
        return F.linear(hidden, self.head)


def timed(fn, repeats):
    fn()  # warm-up: allocator and thread pool
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ids_of(n, vocab, salt=0):
    return torch.tensor([[(i * 37 + 11 + salt) % vocab for i in range(n)]])


def main(argv=None):
    a = parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.model, 'config.json')) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    model = Model(cfg, read_folder(a.model))
    load_seconds = time.perf_counter() - t0
    vocab = min(cfg['vocab_size'], 4096)
    prompt = ids_of(511, vocab)  # 511 prompt tokens; the scored token follows the last

    def score():
        with torch.no_grad():
            h, _ = model.hidden(prompt)
            return torch.log_softmax(model.logits(h[:, -1]), -1)[0, 7]

    def options(prefix, conts):
        with torch.no_grad():
            h, cache = model.hidden(prefix[:, :-1])
            h2, _ = model.hidden(torch.cat([prefix[:, -1:].expand(conts.shape[0], -1), conts[:, :-1]], 1), cache)
            lp = torch.log_softmax(model.logits(h2), -1)
            return lp.gather(-1, conts[..., None]).sum((1, 2))

    four = torch.tensor([[5], [6], [7], [8]])
    figures = {'load_seconds': load_seconds} if 'load' in a.phases else {}
    if 'score' in a.phases:
        figures['score_ms_512'] = timed(score, a.repeats) * 1000
    if 'options' in a.phases:
        figures['options_ms_512x4'] = timed(lambda: options(prompt, four), a.repeats) * 1000
    if 'lora' in a.phases or 'ttt' in a.phases:
        figures.update(adapted_phases(model, a, vocab, options))
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'blas': blas_info(),
        **figures,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'parameters': sum(t.numel() for t in model.w.values()),
    }))


def adapted_phases(model, a, vocab, options):
    """The LoRA training and TTT figures asked for (adapters attached from here on)."""

    adapters = model.add_lora(a.rank)
    opt = torch.optim.AdamW(adapters, lr=1e-4)
    batch = torch.cat([ids_of(257, vocab, 1), ids_of(257, vocab, 2)])

    def train_step():
        opt.zero_grad(set_to_none=True)
        h, _ = model.hidden(batch[:, :-1])
        loss = F.cross_entropy(model.logits(h).flatten(0, 1), batch[:, 1:].flatten())
        loss.backward()
        opt.step()

    figures = {}
    if 'lora' in a.phases:
        step_s = timed(train_step, a.repeats)
        figures['lora_train_tokens_per_s'] = batch.shape[0] * (batch.shape[1] - 1) / step_s

    initial = [p.detach().clone() for p in adapters]
    neighbour = ids_of(300, vocab, 3)
    question = ids_of(300, vocab, 4)
    conts = torch.cat([ids_of(8, vocab, 10 + j) for j in range(4)])

    def ttt_question():
        ttt_opt = torch.optim.AdamW(adapters, lr=1e-5)
        h, _ = model.hidden(neighbour[:, :-1])
        F.cross_entropy(model.logits(h)[0], neighbour[0, 1:]).backward()
        ttt_opt.step()
        ttt_opt.zero_grad(set_to_none=True)
        options(question, conts)
        with torch.no_grad():
            for p, init in zip(adapters, initial):
                p.copy_(init)

    if 'ttt' in a.phases:
        figures['ttt_lora_seconds_per_question'] = timed(ttt_question, a.repeats)
    return figures


if __name__ == '__main__':
    main()
