import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CausalLM } from '../model/causal-lm.ts';
import {
  newestValidCheckpoint,
  removeStaleTemps,
  type SkippedCheckpoint,
} from './checkpoint-recovery.ts';
import { listCheckpoints } from './checkpoints.ts';
import { chatRows, clinicModel } from './fixtures/clinic.ts';
import { sft, type SftOptions } from './sft.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-ckpt-'));
const options = (outDir: string): SftOptions => ({
  data: chatRows(24),
  outDir,
  preset: 'tiny',
  epochs: 2,
  batchSize: 3,
  gradAccum: 2,
  saveEvery: 2,
  keepCheckpoints: 3,
  save: false,
  session: { threads: 2 },
});
/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

describe('removeStaleTemps(outDir)', () => {
  it('removes dead writers’ temporary folders and keeps those a live process may be writing', async () => {
    const out = scratch();
    const make = (name: string, ageSeconds = 0): string => {
      const path = join(out, name);
      mkdirSync(path);
      writeFileSync(join(path, 'model.safetensors'), 'partial');
      const when = Date.now() / 1000 - ageSeconds;
      utimesSync(path, when, when);
      return path;
    };
    const dead = make(`.tmp-checkpoint-4-${deadPid()}-0a1b2c3d`);
    const oldFormat = make('.tmp-checkpoint-4-0a1b2c3d', 3600);
    const oursFromBefore = make(`.tmp-checkpoint-6-${process.pid}-0a1b2c3d`, 3600);
    // process.ppid is alive (the test runner's parent): its write may be in progress.
    const otherLive = make(`.tmp-checkpoint-6-${process.ppid}-0a1b2c3d`, 3600);
    const oursNow = make(`.tmp-checkpoint-8-${process.pid}-0a1b2c3d`);
    const checkpoint = make('checkpoint-2', 3600);

    const removed = await removeStaleTemps(out);
    expect(removed.sort()).toEqual([dead, oldFormat, oursFromBefore].sort());
    for (const path of removed) expect(existsSync(path)).toBe(false);
    for (const path of [otherLive, oursNow, checkpoint]) expect(existsSync(path)).toBe(true);
  });
});

describe('resuming from the newest intact checkpoint', () => {
  let model: CausalLM;
  let trained: string;
  let wholeLosses: number[];

  beforeAll(async () => {
    model = clinicModel(3);
    trained = scratch();
    const { run } = await sft(model, options(trained));
    wholeLosses = run.log.map((r) => r.loss);
    expect((await listCheckpoints(trained)).map((d) => d.split('-').at(-1))).toEqual([
      '4',
      '6',
      '8',
    ]);
  });
  afterAll(() => model.dispose());

  const damage: [string, (dir: string) => void, RegExp][] = [
    [
      'bad JSON in trainer_state.json',
      (d) => writeFileSync(join(d, 'trainer_state.json'), '{"version": 1,'),
      /checkpoint-8\/trainer_state\.json: not valid JSON/,
    ],
    [
      'a trainer state cut short',
      (d) => writeFileSync(join(d, 'trainer_state.json'), '{"version": 1, "step": 8}'),
      /checkpoint-8\/trainer_state\.json: log: does not hold one record per step/,
    ],
    [
      'missing model.safetensors',
      (d) => rmSync(join(d, 'model.safetensors')),
      /checkpoint-8.*safetensors/,
    ],
    [
      'truncated model.safetensors',
      (d) => truncateSync(join(d, 'model.safetensors'), 5000),
      /checkpoint-8\/model\.safetensors: .*truncated/,
    ],
    [
      'missing optimizer state',
      (d) => rmSync(join(d, 'optimizer.bin')),
      /checkpoint-8\/optimizer\.bin: missing/,
    ],
    [
      'truncated optimizer state',
      (d) => truncateSync(join(d, 'optimizer.bin'), 1000),
      /checkpoint-8\/optimizer\.bin: holds 1000 bytes; the trainable parameters need \d+/,
    ],
  ];

  it.each(damage)('skips a latest checkpoint with %s, naming it', async (_, harm, reason) => {
    const out = scratch();
    cpSync(trained, out, { recursive: true });
    harm(join(out, 'checkpoint-8'));
    const skipped: SkippedCheckpoint[] = [];
    const found = await newestValidCheckpoint(out, model, (s) => skipped.push(s));
    expect(found?.dir).toBe(join(out, 'checkpoint-6'));
    expect(found?.state.step).toBe(6);
    expect(skipped).toHaveLength(1);
    expect(skipped[0].reason).toMatch(reason);
    expect(skipped[0].movedTo).toBe(join(out, 'checkpoint-8.damaged'));
    // Out of the way: no longer listed, so pruning and the resumed run's saves ignore it.
    expect((await listCheckpoints(out)).map((d) => d.split('-').at(-1))).toEqual(['4', '6']);
  });

  it('falls back past a damaged latest checkpoint, says so, and ends as the uninterrupted run did', async () => {
    const out = scratch();
    cpSync(trained, out, { recursive: true });
    rmSync(join(out, 'checkpoint-8', 'optimizer.bin'));
    const stale = join(out, `.tmp-checkpoint-8-${deadPid()}-0a1b2c3d`);
    mkdirSync(stale);
    const notices: string[] = [];
    const messages: string[] = [];
    const resumed = clinicModel(3);
    const { run } = await sft(resumed, {
      ...options(out),
      resume: true,
      onNotice: (m) => notices.push(m),
      onProgress: (e) => e.message && messages.push(e.message),
    });
    expect(notices).toEqual([
      `removed .tmp-checkpoint-8-${stale.split('-').at(-2)}-0a1b2c3d, the unfinished checkpoint of a run that was stopped`,
      `skipping damaged checkpoint-8 (${join(out, 'checkpoint-8', 'optimizer.bin')}: missing); moved to checkpoint-8.damaged`,
      'resuming from checkpoint-6 (step 6 of 8)',
    ]);
    // The kernel shows progress messages: the same notices reach it.
    expect(messages.slice(0, 3)).toEqual(notices);
    expect(existsSync(stale)).toBe(false);
    expect(run.resumedFrom).toBe(6);
    expect(run.log.map((r) => r.loss)).toEqual(wholeLosses);
    expect(readdirSync(out).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    await resumed.dispose();
  });
});
