import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { createModel } from '../model/init.ts';
import { type PhaseResult } from './bench-model-phases.ts';
import { phasesFlag, summarize } from './bench-model.ts';
import { expectedOpenblasCore, SYSTEM_PYTHON, torchAvailable } from './bench-train.ts';
import { runCli } from './testing.ts';

const FIGURES = [
  'load_seconds',
  'score_ms_512',
  'options_ms_512x4',
  'lora_train_tokens_per_s',
  'ttt_lora_seconds_per_question',
];

describe('finemed bench model', () => {
  let dir: string;
  let parameters: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'finemed-bench-model-'));
    const texts = Array.from(
      { length: 40 },
      (_, i) => `patient ${i} presents with chest pain and fever; the most likely diagnosis`,
    );
    const model = createModel({ preset: 'tiny', texts });
    parameters = model.params.count;
    await model.save(dir);
    await model.dispose();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every figure, the peak RSS of each phase and no PyTorch block with --no-torch', async () => {
    const args = ['bench', 'model', '--model', dir, '--threads', '1', '--repeats', '1'];
    const run = await runCli([...args, '--no-torch', '--json']);
    expect(run.code, run.err).toBe(0);
    for (const key of FIGURES) {
      expect(typeof run.json[key], key).toBe('number');
      expect(run.json[key] as number, key).toBeGreaterThan(0);
    }
    const byPhase = run.json.peak_rss_mb_by_phase as Record<string, number>;
    expect(Object.keys(byPhase)).toEqual(['load', 'score', 'options', 'lora', 'ttt']);
    expect(run.json.peak_rss_mb).toBe(Math.max(...Object.values(byPhase)));
    expect(byPhase.load).toBeGreaterThan(50);
    expect(run.json.parameters).toBe(parameters);
    for (const ratio of Object.values(run.json.cpu_per_wall_by_phase as Record<string, number>))
      expect(ratio).toBeGreaterThan(0);
    expect(run.json.torch).toBeNull();
    expect(run.json.ratio_vs_torch).toBeNull();
  }, 300_000);

  it('an unknown --phase is a usage error naming the phases', async () => {
    const run = await runCli(['bench', 'model', '--model', dir, '--phase', 'fly']);
    expect(run.code).not.toBe(0);
    expect(run.err).toMatch(/--phase must be load\|score\|options\|lora\|ttt, got 'fly'/);
  });
});

describe('bench model summary', () => {
  const ours = (scale: number): PhaseResult[] =>
    (
      [
        ['load', 'load_seconds', 2],
        ['score', 'score_ms_512', 1000],
        ['options', 'options_ms_512x4', 1100],
        ['lora', 'lora_train_tokens_per_s', 300],
        ['ttt', 'ttt_lora_seconds_per_question', 4],
      ] as const
    ).map(([phase, key, value]) => ({
      phase,
      key,
      value: value * scale,
      peakRssMb: phase === 'lora' ? 4000 : 2000,
      parameters: 10,
      cpuPerWall: 2,
    }));
  const torch = (corename: string) => ({
    torch: '1.13',
    threads: 2,
    blas: { libraries: ['/usr/lib/libopenblasp-r0.3.21.so'], corename, threads: 2, config: null },
    load_seconds: 6,
    score_ms_512: 3000,
    options_ms_512x4: 3300,
    lora_train_tokens_per_s: 100,
    ttt_lora_seconds_per_question: 12,
    peak_rss_mb: 3000,
    parameters: 10,
  });
  const env = { threads: 2, repeats: 2, loadBefore: 0 };

  it('takes medians over rounds, the largest RSS, and ratios with > 1 meaning faster here', () => {
    const report = summarize(
      'm',
      [ours(1), ours(1), ours(3)],
      [torch(expectedOpenblasCore())],
      env,
    );
    expect(report.score_ms_512).toBe(1000);
    expect(report.peak_rss_mb).toBe(4000);
    expect(report.ratio_vs_torch).toEqual({
      load_seconds: 3,
      score_ms_512: 3,
      options_ms_512x4: 3,
      lora_train_tokens_per_s: 3,
      ttt_lora_seconds_per_question: 3,
    });
    expect(report.options_vs_torch_score).toBe(round3(3000 / 1100));
  });

  it('--phases runs a subset in the fixed order, and the report has only their figures', () => {
    expect(phasesFlag(undefined)).toEqual(['load', 'score', 'options', 'lora', 'ttt']);
    expect(phasesFlag('options, score')).toEqual(['score', 'options']);
    expect(() => phasesFlag('score,fly')).toThrow(
      /--phases takes some of load,score.*got 'score,fly'/,
    );
    const picked = ours(1).filter((r) => r.phase === 'score' || r.phase === 'options');
    const {
      load_seconds: _,
      lora_train_tokens_per_s: __,
      ...baseline
    } = torch(expectedOpenblasCore());
    const report = summarize('m', [picked], [baseline as ReturnType<typeof torch>], env);
    expect(report.ratio_vs_torch).toEqual({ score_ms_512: 3, options_ms_512x4: 3 });
    expect(report).not.toHaveProperty('lora_train_tokens_per_s');
    expect(Object.keys(report.peak_rss_mb_by_phase as object)).toEqual(['score', 'options']);
    expect(report.options_vs_torch_score).toBe(round3(3000 / 1100));
  });

  it('refuses ratios against a baseline running the wrong OpenBLAS kernels', () => {
    const report = summarize('m', [ours(1)], [torch('Prescott')], env);
    expect(report.ratio_vs_torch).toBeNull();
    expect(report.options_vs_torch_score).toBeNull();
    expect(report.baseline_problem).toMatch(/runs 'Prescott' kernels/);
    expect((report.torch as Record<string, unknown>).score_ms_512).toBe(3000);
  });
});

const round3 = (x: number) => Math.round(x * 1000) / 1000;

describe.runIf(torchAvailable())('scripts/bench/torch_model.py', () => {
  it('refuses a thread count below 1 before loading anything', () => {
    const script = join(projectRoot, 'scripts', 'bench', 'torch_model.py');
    const r = spawnSync(SYSTEM_PYTHON, [script, '--model', '/nonexistent', '--threads', '0'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads, --repeats and --rank must be at least 1/);
    const bad = spawnSync(SYSTEM_PYTHON, [script, '--model', '/nonexistent', '--phases', 'fly'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--phases: unknown fly/);
  }, 60_000);
});
