import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { CancelledError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';
import { functionGenerator, functionScorer } from './fixtures/models.ts';
import { loadBenchmark } from './loaders/load.ts';
import { readEvalResult } from './results.ts';
import { evaluate, runEval } from './run.ts';

const fixture = (name: string): string =>
  join(fileURLToPath(import.meta.url), '..', 'fixtures', name);

// Favour option `pick(question)` by letter: -1 nats for it, -4 for the others.
const letterScorer = (pick: (context: string) => string) =>
  functionScorer(({ context, continuation }) => (continuation === ` ${pick(context)}` ? -1 : -4));

describe('evaluate(bench, model, opts) in loglik mode', () => {
  it('scores each option and gives the exact accuracy of known answers', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    // Right on the anemia and MI questions (B, C), wrong on scurvy (answers A, truth D).
    const scorer = letterScorer((ctx) =>
      ctx.includes('pallor') ? 'B' : ctx.includes('ST elevation') ? 'C' : 'A',
    );
    const { summary, records } = await evaluate(bench, { key: 'fixture', scorer });
    expect(summary).toMatchObject({
      format: 'medqa',
      mode: 'loglik',
      n_items: 3,
      n_scored: 3,
      n_skipped: 0,
      accuracy: 2 / 3,
      acc_norm: 2 / 3,
    });
    expect(records.map((r) => [r.id, r.prediction, r.correct])).toEqual([
      ['L1', 1, true],
      ['L2', 2, true],
      ['L4', 0, false],
    ]);
    expect(records[1].scores?.map((s) => s.logprob)).toEqual([-4, -4, -1, -4, -4]);
    expect(scorer.calls[0].map((r) => r.continuation)).toEqual([' A', ' B', ' C', ' D']);
    expect(records[0].prompt).toMatch(
      /^Question: A 24-year-old woman.*\nD\. Aplastic anemia\nAnswer:$/s,
    );
    expect(summary.by_subject.map((s) => [s.subject, s.n, s.accuracy])).toEqual([
      ['step1', 2, 0.5],
      ['step2&3', 1, 1],
    ]);
  });

  it('separates acc from acc_norm when choices differ in byte length', async () => {
    // Ground truth yes, maybe, maybe. Every item scores yes -3.0, no -2.5, maybe -4.0:
    // acc picks "no" (0 of 3); per byte yes -1.0, no -1.25, maybe -0.8, so acc_norm picks
    // "maybe" (2 of 3).
    const bench = await loadBenchmark(fixture('pubmedqa.json'), 'pubmedqa', {
      truthFile: fixture('pubmedqa-truth.json'),
    });
    const table: Record<string, number> = { ' yes': -3, ' no': -2.5, ' maybe': -4 };
    const scorer = functionScorer(({ continuation }) => table[continuation]);
    const { summary, records } = await evaluate(bench, { key: 'fixture', scorer });
    expect([summary.accuracy, summary.acc_norm]).toEqual([0, 2 / 3]);
    expect(records.map((r) => [r.prediction, r.predictionNorm])).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
  });

  it('with chat, scores each option as the assistant reply after the answer prefix', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const render = (messages: readonly { role: string; content: string }[]): string =>
      messages.map((m) => `<${m.role}>${m.content}</${m.role}>`).join('') + '<assistant>';
    // Right only when the option's text follows the prefix in the assistant's turn.
    const scorer = functionScorer(({ context, continuation }) =>
      context.endsWith('<assistant>It is') && continuation === ' Iron deficiency' ? -1 : -3,
    );
    const { summary, records } = await evaluate(
      bench,
      { key: 'fixture', scorer, chatTemplate: render },
      { choiceStyle: 'text', chat: true, answerPrefix: 'It is', limit: 1 },
    );
    expect(records[0].prompt).toMatch(
      /^<user>Question: A 24-year-old woman.*\nD\. Aplastic anemia<\/user><assistant>It is$/s,
    );
    expect(records[0].correct).toBe(true);
    expect(summary).toMatchObject({ chat_template: true, answer_prefix: 'It is', accuracy: 1 });
    await expect(
      evaluate(bench, { key: 'plain', scorer }, { chat: true, limit: 1 }),
    ).rejects.toThrow('no chat template');
  });

  it('limits, counts skipped rows and batches several items per call', async () => {
    const bench = await loadBenchmark(fixture('medqa-bad.jsonl'), 'medqa', { skipBadRows: true });
    const scorer = letterScorer(() => 'B');
    const { summary } = await evaluate(
      bench,
      { key: 'fixture', scorer },
      { limit: 1, batchSize: 4 },
    );
    expect(summary).toMatchObject({ n_items: 2, n_scored: 1, n_skipped: 3, accuracy: 1 });
    expect(summary.skipped.map((s) => s.source.line)).toEqual([2, 3, 4]);
    expect(scorer.calls).toHaveLength(1);
  });

  it('adds few-shot examples drawn from the benchmark, never the item itself', async () => {
    const bench = await loadBenchmark(fixture('medmcqa-1based.jsonl'), 'medmcqa');
    const scorer = letterScorer(() => 'A');
    const { records } = await evaluate(bench, { key: 'fixture', scorer }, { shots: 2, seed: 4 });
    for (const record of records) {
      const blocks = record.prompt.split('\n\n');
      expect(blocks).toHaveLength(3);
      expect(blocks.slice(0, 2).every((b) => /\nAnswer: [A-D]$/.test(b))).toBe(true);
      expect(blocks.slice(0, 2).some((b) => b.includes(record.question))).toBe(false);
    }
  });

  it('reports progress after each batch and stops when aborted', async () => {
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const events: ProgressEvent[] = [];
    const controller = new AbortController();
    const scorer = functionScorer(() => {
      if (events.length === 1) controller.abort(new CancelledError('stop'));
      return -1;
    });
    const run = evaluate(
      bench,
      { key: 'fixture', scorer },
      { onProgress: (e) => events.push(e), signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    // The abort lands while the second item is being scored: that item finishes, the third
    // never starts.
    expect(events.map((e) => [e.stage, e.step, e.total])).toEqual([
      ['eval:medqa', 1, 3],
      ['eval:medqa', 2, 3],
    ]);
  });
});

describe('evaluate(bench, model, opts) in generate mode', () => {
  it('reads answers off replies and counts the unparseable ones', async () => {
    const bench = await loadBenchmark(fixture('mmlupro.jsonl'), 'mmlupro');
    const replies: Record<string, string> = {
      'community-acquired': 'Pneumococcus is most common, so the answer is (B).',
      'resting heart rate': 'Answer: C',
      'synthesized in the skin': 'I cannot decide.',
    };
    const generator = functionGenerator((messages) => {
      const question = messages[messages.length - 1].content;
      return Object.entries(replies).find(([cue]) => question.includes(cue))?.[1] ?? '';
    });
    const { summary, records } = await evaluate(
      bench,
      { key: 'fixture', generator },
      { mode: 'generate', chainOfThought: true, shots: 1, seed: 2 },
    );
    expect(summary).toMatchObject({
      mode: 'generate',
      n_scored: 3,
      accuracy: 1 / 3,
      n_unparseable: 1,
      chain_of_thought: true,
      shots: 1,
    });
    expect(summary.acc_norm).toBeUndefined();
    expect(records.map((r) => [r.prediction, r.extractedBy])).toEqual([
      [1, 'answer-is'],
      [2, 'answer-is'],
      [null, 'none'],
    ]);
    expect(generator.calls[0][0].maxTokens).toBe(1024);
    expect(records[0].messages?.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(records[0].output).toBe(replies['community-acquired']);
  });
});

describe('runEval(store, bench, model, opts, inputs)', () => {
  it('stores the result as an eval artifact and reuses it for the same recipe', async () => {
    const store = new ArtifactStore(mkdtempSync(join(tmpdir(), 'finemed-eval-')));
    const bench = await loadBenchmark(fixture('medqa.jsonl'), 'medqa');
    const scorer = letterScorer(() => 'B');
    const first = await runEval(store, bench, { key: 'model-a', scorer }, { seed: 1 });
    expect(first.reused).toBe(false);
    const again = await runEval(store, bench, { key: 'model-a', scorer }, { seed: 1 });
    expect(again.reused).toBe(true);
    expect(again.key).toBe(first.key);
    expect(scorer.calls).toHaveLength(3);
    expect(again.result.summary).toEqual(first.result.summary);
    expect(again.result.records.map((r) => r.correct)).toEqual([true, false, false]);
    const other = await runEval(store, bench, { key: 'model-b', scorer }, { seed: 1 });
    expect(other.key).not.toBe(first.key);
    expect((await readEvalResult(first.key, store)).summary.accuracy).toBe(1 / 3);
    const artifact = await store.get('eval', first.key);
    expect(artifact?.meta.files.map((f) => f.name)).toEqual(['items.jsonl', 'summary.json']);
  });
});
