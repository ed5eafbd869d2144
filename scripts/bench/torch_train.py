"""PyTorch baseline for `finemed bench train`: the same GPT training step on CPU.

Usage (the CLI runs it with OMP_NUM_THREADS / OPENBLAS_CORETYPE set):
  /usr/bin/python3 scripts/bench/torch_train.py --vocab 4096 --d-model 256 --layers 4 \
      --heads 4 --seq 128 --batch 16 --threads 2 --steps 5 --warmup 2
Prints one JSON object: timings (medians, ms), tokens/s, peak RSS, and the BLAS in use.
The model mirrors src/engine/gpt.ts: learned token and position embeddings, pre-LayerNorm
blocks (fused QKV, causal softmax attention, GELU MLP), final LayerNorm, head tied to the
token embedding, mean cross-entropy; step = forward, backward, clip_grad_norm_(1), AdamW.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from blas_report import blas_info


class Block(torch.nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.ln_1 = torch.nn.LayerNorm(d)
        self.c_attn = torch.nn.Linear(d, 3 * d)
        self.attn_proj = torch.nn.Linear(d, d)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.c_fc = torch.nn.Linear(d, mlp)
        self.mlp_proj = torch.nn.Linear(mlp, d)

    def forward(self, x, bias):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, -1)
        heads = lambda z: z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias, -1)
        x = x + self.attn_proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, seq):
        super().__init__()
        self.wte = torch.nn.Parameter(torch.randn(vocab, d) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(seq, d) * 0.02)
        self.blocks = torch.nn.ModuleList([Block(d, heads, 4 * d) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.register_buffer('bias', torch.triu(torch.full((seq, seq), -1e9), 1))

    def forward(self, ids, targets):
        t = ids.shape[1]
        x = self.wte[ids] + self.wpe[:t]
        for block in self.blocks:
            x = block(x, self.bias[:t, :t])
        logits = self.ln_f(x) @ self.wte.T
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    for name, default in (('vocab', 4096), ('d-model', 256), ('layers', 4), ('heads', 4), ('seq', 128),
                          ('batch', 16), ('threads', 2), ('steps', 5), ('warmup', 2)):
        ap.add_argument('--' + name, type=int, default=default)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = Gpt(a.vocab, a.d_model, a.layers, a.heads, a.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    fb, op, cpu = [], [], []
    loss = None
    for s in range(a.warmup + a.steps):
        ids = torch.randint(0, a.vocab, (a.batch, a.seq))
        targets = torch.randint(0, a.vocab, (a.batch, a.seq))
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, targets)
        loss.backward()
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t2 = time.perf_counter()
        if s >= a.warmup:
            fb.append((t1 - t0) * 1000)
            op.append((t2 - t1) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    step = statistics.median([x + y for x, y in zip(fb, op)])
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'blas': blas_info(),
        'tokensPerSec': a.batch * a.seq * 1000 / step,
        'stepMs': step,
        'forwardBackwardMs': statistics.median(fb),
        'optimizerMs': statistics.median(op),
        'cpuMs': statistics.median(cpu),
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'params': sum(p.numel() for p in model.parameters()),
        'loss': loss.item(),
    }))


if __name__ == '__main__':
    main()
