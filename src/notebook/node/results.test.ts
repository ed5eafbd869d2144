import { describe, expect, it } from 'vitest';
import * as aq from 'arquero';
import type { JobState } from '../job-run.ts';
import { compareResults, toResultJson, type RunResults } from './results.ts';

const run = (cells: RunResults['cells']): RunResults => ({
  format: 'finemed-results/1',
  notebook: 'nb.html',
  preset: 'tiny',
  cells,
});

describe('toResultJson(value)', () => {
  it('keeps what a re-run can reproduce and tags what JSON cannot hold', () => {
    const value = {
      n: 3,
      nan: NaN,
      when: new Date('2025-01-02T03:04:05Z'),
      rows: aq.table({ a: [1, 2] }),
      weights: new Float32Array([0.5, 0.25]),
      ids: new Set(['x']),
      byName: new Map([['k', 1]]),
      fn: () => 1,
      pending: Promise.resolve(1),
      missing: undefined,
    };
    expect(toResultJson(value)).toEqual({
      n: 3,
      nan: { $number: 'NaN' },
      when: { $date: '2025-01-02T03:04:05.000Z' },
      rows: [{ a: 1 }, { a: 2 }],
      weights: [0.5, 0.25],
      ids: ['x'],
      byName: { k: 1 },
    });
  });

  it('keeps a job state summary and progress, without timings, reuse or artifact keys', () => {
    const state: JobState = {
      type: 'finemed.job',
      job: 'train.sft',
      status: 'done',
      history: [{ stage: 'sft', step: 1, loss: 2.5, elapsed: 3.2, rate: 900, eta: 10 }],
      result: {
        job: 'train.sft',
        artifact: { kind: 'checkpoint', key: 'abcdef0123456789' },
        reused: true,
        summary: { loss: 2.5 },
        files: [],
        seed: 1,
        inputs: [],
      },
    };
    expect(toResultJson(state)).toEqual({
      job: 'train.sft',
      status: 'done',
      history: [{ stage: 'sft', step: 1, loss: 2.5 }],
      result: { job: 'train.sft', summary: { loss: 2.5 }, seed: 1 },
    });
  });

  it('marks a cycle instead of recursing forever', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(toResultJson(a)).toEqual({ x: 1, self: '[circular]' });
  });
});

describe('compareResults(expected, actual)', () => {
  const cell = (outputs: Record<string, unknown>, tolerance?: { abs: number; rel: number }) => ({
    id: 1,
    label: 'cell 1 (const acc = ...)',
    mode: 'js',
    state: 'done',
    outputs,
    ...(tolerance ? { tolerance } : {}),
  });

  it('counts every number and reports those outside the tolerance, by path', () => {
    const expected = run([
      cell({ acc: 0.5, curve: [1, 2, 3], name: 'sft' }, { abs: 0.01, rel: 0 }),
    ]);
    const actual = run([cell({ acc: 0.505, curve: [1, 2, 3.5], name: 'sft' })]);
    expect(compareResults(expected, actual)).toEqual({
      numbers: 4,
      differences: [
        { cell: 'cell 1 (const acc = ...)', path: 'outputs.curve[2]', expected: 3, actual: 3.5 },
      ],
    });
  });

  it('reports changed strings, changed shapes and missing cells', () => {
    const expected = run([
      cell({ name: 'sft', curve: [1, 2] }),
      { ...cell({}), id: 2, label: 'cell 2' },
    ]);
    const actual = run([cell({ name: 'dpo', curve: [1] })]);
    const { differences } = compareResults(expected, actual);
    expect(differences.map((d) => d.path)).toEqual(['outputs.name', 'outputs.curve', '']);
  });
});
