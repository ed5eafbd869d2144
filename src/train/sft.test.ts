import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../core/errors.ts';
import { loadModel } from '../model/causal-lm.ts';
import { listCheckpoints, readTrainerState } from './checkpoints.ts';
import { encodeSftExample } from './encode.ts';
import { chatRows, clinicModel, CONDITIONS } from './fixtures/clinic.ts';
import { sft, sftCurriculum, type SftOptions } from './sft.ts';
import { TrainingDivergedError } from './trainer-types.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-sft-'));
const session = { threads: 2 };
const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('sft(model, options)', () => {
  it('lowers the held-out loss, and writes a model folder that loads with the same weights', async () => {
    const model = clinicModel(1);
    const out = scratch();
    const { summary, run } = await sft(model, {
      data: chatRows(48),
      evalData: chatRows(56).slice(48),
      outDir: out,
      preset: 'tiny',
      epochs: 2,
      evalOnStart: true,
      session,
    });
    expect(run.evalLog[0].step).toBe(0);
    expect(summary.eval_loss).toBe(run.evalLog.at(-1)!.loss);
    expect(summary.eval_loss!).toBeLessThan(run.evalLog[0].loss * 0.6);
    expect(summary).toMatchObject({ steps: 12, rows: 48, eval_rows: 8, truncated_rows: 0 });
    const saved = await loadModel(out);
    expect(bits(saved.params.data).equals(bits(model.params.data))).toBe(true);
    const result = JSON.parse(readFileSync(join(out, 'train_result.json'), 'utf8'));
    expect(result.log).toHaveLength(12);
    await Promise.all([model.dispose(), saved.dispose()]);
  });

  it('resumed after a cancel mid-way, ends with the uninterrupted run’s weights and loss curve, bit for bit', async () => {
    const options = (outDir: string): SftOptions => ({
      data: chatRows(24),
      outDir,
      preset: 'tiny',
      epochs: 2,
      batchSize: 3,
      gradAccum: 2,
      saveEvery: 2,
      session,
    });
    const straight = clinicModel(2);
    const whole = await sft(straight, { ...options(scratch()), save: false });

    const out = scratch();
    const controller = new AbortController();
    const interrupted = clinicModel(2);
    const error = await sft(interrupted, {
      ...options(out),
      signal: controller.signal,
      onProgress: (e) => {
        if (e.step === 5 && e.loss !== undefined) controller.abort(new CancelledError('stop'));
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toContain('checkpoint saved at');
    // The cancel saved step 5; the periodic save of step 4 is still there.
    expect((await listCheckpoints(out)).map((d) => d.split('-').at(-1))).toEqual(['4', '5']);
    expect((await readTrainerState(join(out, 'checkpoint-5'))).data).toEqual({
      epoch: 1,
      offset: 6,
      units: 24,
    });

    const resumed = clinicModel(2);
    const rest = await sft(resumed, { ...options(out), resume: true });
    expect(rest.run.resumedFrom).toBe(5);
    expect(rest.run.log.map((r) => r.loss)).toEqual(whole.run.log.map((r) => r.loss));
    expect(bits(resumed.params.data).equals(bits(straight.params.data))).toBe(true);
    await Promise.all([straight.dispose(), interrupted.dispose(), resumed.dispose()]);
  });

  it('stops on a non-finite loss naming the step, keeping the last good checkpoint', async () => {
    const model = clinicModel(3);
    const out = scratch();
    const error = await sft(model, {
      data: chatRows(16),
      outDir: out,
      preset: 'tiny',
      lr: 1e30,
      schedule: 'constant',
      warmup: { steps: 0 },
      batchSize: 4,
      saveEvery: 1,
      session,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const { step, checkpoint, message } = error as TrainingDivergedError;
    expect(message).toMatch(
      new RegExp(
        `^training diverged at step ${step}: the (loss|gradient norm) is (NaN|-?Infinity)`,
      ),
    );
    expect(checkpoint).toBe(join(out, `checkpoint-${step - 1}`));
    expect(existsSync(join(checkpoint!, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, `checkpoint-${step}`))).toBe(false);
    await model.dispose();
  });

  it('with LoRA trains only the adapters and saves a merged model plus the PEFT adapter', async () => {
    const model = clinicModel(4);
    const before = model.params.snapshot();
    const out = scratch();
    const { summary } = await sft(model, {
      data: chatRows(16),
      outDir: out,
      preset: 'tiny',
      lr: 1e-2,
      lora: { r: 4, targetModules: ['q_proj', 'v_proj'] },
      session,
    });
    expect(summary.lora).toEqual({ r: 4, alpha: 8 });
    const base = model.params.entries.filter((e) => !e.trainable);
    const adapters = model.params.entries.filter((e) => e.trainable);
    expect(adapters.every((e) => e.name.includes('.lora_'))).toBe(true);
    for (const e of base)
      expect(
        bits(model.params.view(e.name)).equals(bits(before.subarray(e.offset, e.offset + e.size))),
      ).toBe(true);
    expect(
      adapters.some((e) =>
        model.params.view(e.name).some((v) => v !== 0 && e.name.includes('lora_B')),
      ),
    ).toBe(true);
    expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
    const merged = await loadModel(out);
    const row = [[1, 5, 9, 13, 17]];
    const [a, b] = [await model.logits(row), await merged.logits(row)];
    for (let i = 0; i < a.data.length; i++) expect(b.data[i]).toBeCloseTo(a.data[i], 4);
    await Promise.all([model.dispose(), merged.dispose()]);
  });

  it('with packing, cuts only where packed rows end: every token of a long row is trained on', async () => {
    const model = clinicModel(6);
    const texts = CONDITIONS.map(
      ([condition, remedy]) =>
        `${condition} is cured by ${remedy}. Give ${remedy} early; ${condition} rarely returns after ${remedy}.`,
    );
    const ids = texts.map(
      (text) =>
        encodeSftExample(model.tokenizer!, { kind: 'text', text, source: { file: '', line: 0 } })
          .ids,
    );
    const maxLength = 16;
    expect(ids.every((row) => row.length > maxLength)).toBe(true);
    const total = ids.reduce((n, row) => n + row.length, 0);
    const { summary, run } = await sft(model, {
      data: texts.map((text) => ({ text })),
      outDir: scratch(),
      preset: 'tiny',
      maxLength,
      packing: true,
      truncation: 'error',
      batchSize: 64,
      save: false,
      session,
    });
    expect(summary).toMatchObject({ truncated_rows: 0, rows: Math.ceil(total / maxLength) });
    // One epoch in one step: its inputs are every token but the last of each packed row.
    expect(run.log[0].tokens).toBe(total - Math.ceil(total / maxLength));
    await model.dispose();
  });

  it('accumulating two micro-batches takes the same step as one batch of both', async () => {
    const run = async (batchSize: number, gradAccum: number) => {
      const model = clinicModel(5);
      await sft(model, {
        data: chatRows(8),
        outDir: scratch(),
        preset: 'tiny',
        optimizer: 'sgd',
        lr: 0.5,
        schedule: 'constant',
        warmup: { steps: 0 },
        maxGradNorm: 0,
        batchSize,
        gradAccum,
        maxSteps: 1,
        save: false,
        session,
      });
      const weights = model.params.snapshot();
      await model.dispose();
      return weights;
    };
    const [one, two] = [await run(8, 1), await run(4, 2)];
    let worst = 0;
    for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - two[i]));
    expect(worst).toBeLessThan(1e-5);
    expect(bits(one).equals(bits(clinicModel(5).params.data))).toBe(false);
  });
});

describe('sftCurriculum(model, stages, shared)', () => {
  it('runs the stages in order, each continuing from the weights the last one left', async () => {
    const model = clinicModel(6);
    const out = scratch();
    const stages = [
      { name: 'all', data: chatRows(16) },
      { name: 'dept', data: chatRows(8) },
    ];
    const results = await sftCurriculum(model, stages, { outDir: out, preset: 'tiny', session });
    expect(results.map((r) => r.summary.stage)).toEqual(['sft:all', 'sft:dept']);
    expect(existsSync(join(out, 'all', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'dept', 'model.safetensors'))).toBe(true);
    // The second stage starts where the first ended, far below a fresh model's first loss.
    expect(results[1].summary.train_loss_first!).toBeLessThan(
      results[0].summary.train_loss_first! * 0.8,
    );
    await model.dispose();
  });
});
