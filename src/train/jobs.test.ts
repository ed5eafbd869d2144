import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import {
  chatRows,
  clinicModel,
  preferenceRows,
  remedyFacts,
  remedyQuestions,
} from './fixtures/clinic.ts';
import { dpoIntoFolder, tttIntoFolder } from './jobs.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-jobs-'));
const modelDir = join(dir, 'model');
const file = (name: string, rows: unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
};
const fresh = (): string => mkdtempSync(join(dir, 'artifact-'));

beforeAll(async () => {
  const model = clinicModel(31);
  await model.save(modelDir);
  await model.dispose();
});

interface WorkerRun {
  events: ProgressEvent[];
  ticks: number;
  result: Promise<
    | { type: 'done'; summary: Record<string, unknown> }
    | { type: 'failed'; name: string; message: string }
  >;
  worker: Worker;
}

/** Runs a job in a worker thread, counting main-thread timer ticks while it trains. */
function inWorker(
  job: string,
  params: unknown,
  ctx: { dir: string; workDir?: string },
  onEvent?: (e: ProgressEvent, w: Worker) => void,
): WorkerRun {
  const worker = new Worker(new URL('./fixtures/worker-entry.js', import.meta.url), {
    workerData: { job, params, seed: 0, ...ctx },
  });
  const run: WorkerRun = { events: [], ticks: 0, worker, result: undefined as never };
  const timer = setInterval(() => run.ticks++, 5);
  run.result = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.type === 'progress') {
        run.events.push(m.event);
        onEvent?.(m.event, worker);
      } else resolve(m);
    });
    worker.on('error', reject);
  }).finally(() => clearInterval(timer)) as WorkerRun['result'];
  return run;
}

describe('sftIntoFolder in a worker thread', () => {
  const params = {
    model: modelDir,
    data: file('sft.jsonl', chatRows(24)),
    preset: 'tiny',
    epochs: 2,
    batchSize: 4,
    saveEvery: 2,
    threads: 2,
  };

  it('streams progress while the main thread stays responsive, and leaves a model and no checkpoints', async () => {
    const out = fresh();
    const run = inWorker('sftIntoFolder', params, { dir: out });
    const outcome = await run.result;
    expect(outcome.type).toBe('done');
    expect(run.events.filter((e) => e.loss !== undefined).map((e) => e.step)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expect(run.ticks).toBeGreaterThan(10);
    const summary = (outcome as { summary: Record<string, unknown> }).summary;
    expect(summary).toMatchObject({ stage: 'sft', steps: 12, rows: 24 });
    expect(summary).not.toHaveProperty('out');
    expect(summary).not.toHaveProperty('seconds');
    expect(readdirSync(out).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'train_result.json',
    ]);
  });

  it('cancelled, checkpoints into its work folder; run again, resumes there', async () => {
    const workDir = fresh();
    const first = inWorker('sftIntoFolder', params, { dir: fresh(), workDir }, (e, w) => {
      if (e.step === 5 && e.loss !== undefined) w.postMessage('cancel');
    });
    const stopped = await first.result;
    expect(stopped).toMatchObject({ type: 'failed', name: 'CancelledError' });
    // The message reaches the worker between steps, so it stops at step 5 or a little later.
    const at = Number(/checkpoint-(\d+)/.exec((stopped as { message: string }).message)![1]);
    expect(at).toBeGreaterThanOrEqual(5);
    expect(at).toBeLessThan(12);
    expect(readdirSync(workDir)).toContain(`checkpoint-${at}`);
    const second = inWorker('sftIntoFolder', params, { dir: fresh(), workDir });
    expect(await second.result).toMatchObject({ type: 'done', summary: { steps: 12 } });
    expect(second.events.find((e) => e.loss !== undefined)?.step).toBe(at + 1);
    // The job says where it continues, as a progress message the kernel shows.
    expect(second.events.find((e) => e.message?.startsWith('resuming'))).toMatchObject({
      step: at,
      message: `resuming from checkpoint-${at} (step ${at} of 12)`,
    });
  });
});

describe('dpoIntoFolder and tttIntoFolder', () => {
  it('dpoIntoFolder trains from a model folder and reports TRL metrics', async () => {
    const summary = await dpoIntoFolder(
      {
        model: modelDir,
        data: file('dpo.jsonl', preferenceRows(8)),
        preset: 'tiny',
        maxSteps: 2,
        beta: 0.2,
        threads: 2,
      },
      { dir: fresh(), seed: 0, signal: new AbortController().signal, progress: () => undefined },
    );
    expect(summary).toMatchObject({ stage: 'dpo', steps: 2, beta: 0.2 });
    expect(summary).toHaveProperty(['rewards/margins']);
  });

  it('tttIntoFolder writes records and a summary without timings', async () => {
    const out = fresh();
    const summary = await tttIntoFolder(
      {
        model: modelDir,
        index: file('facts.jsonl', remedyFacts()),
        bench: file('questions.jsonl', remedyQuestions()),
        format: 'medqa',
        k: 1,
        steps: 1,
        limit: 2,
        threads: 2,
        store: join(dir, 'store'),
      },
      { dir: out, seed: 0, signal: new AbortController().signal, progress: () => undefined },
    );
    expect(summary).toMatchObject({ n_items: 2, weights_restored: true, k: 1 });
    expect(summary).not.toHaveProperty('timings_ms');
    expect(existsSync(join(out, 'ttt_records.jsonl'))).toBe(true);
  });
});
