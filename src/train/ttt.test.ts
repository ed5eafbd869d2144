import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../core/artifacts.ts';
import { loadBenchmark } from '../eval/index.ts';
import { gather, Graph, toOnnxBytes } from '../engine/index.ts';
import { clinicModel, remedyFacts, remedyQuestions } from './fixtures/clinic.ts';
import { modelEmbedder, onnxEmbedder } from './retrieve/dense.ts';
import {
  buildIndex,
  indexArtifact,
  loadIndex,
  parseIndexRecord,
  saveIndex,
} from './retrieve/index.ts';
import { TestTimeTrainer } from './ttt.ts';
import { evaluateWithTtt } from './ttt-eval.ts';

const session = { threads: 2 };
const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-ttt-'));
const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

const dir = scratch();
writeFileSync(join(dir, 'questions.jsonl'), jsonl(remedyQuestions()));
writeFileSync(join(dir, 'facts.jsonl'), jsonl(remedyFacts()));
const docs = remedyFacts().map((r, i) => parseIndexRecord(r, { file: 'facts', line: i + 1 }));

describe('evaluateWithTtt(bench, ttt, options)', () => {
  const model = clinicModel(11);
  afterAll(() => model.dispose());

  it('answers from the retrieved neighbour (accuracy rises) and restores the weights bit for bit after every question', async () => {
    const bench = await loadBenchmark(join(dir, 'questions.jsonl'), 'medqa');
    const base = model.params.snapshot();
    const ttt = await TestTimeTrainer.create(model, await buildIndex(docs), {
      k: 1,
      steps: 3,
      lr: 3e-3,
      session,
    });
    const identical: boolean[] = [];
    const { summary, records } = await evaluateWithTtt(bench, ttt, {
      choiceStyle: 'text',
      onProgress: () => identical.push(bits(model.params.data).equals(bits(base))),
    });
    await ttt.dispose();
    expect(identical).toEqual(bench.items.map(() => true));
    expect(summary.weights_restored).toBe(true);
    expect(summary.weights_sha256.before).toBe(
      createHash('sha256').update(bits(base)).digest('hex'),
    );
    expect(summary.weights_sha256.after).toBe(summary.weights_sha256.before);
    expect(records.map((r) => r.neighbours.map((n) => n.id))).toEqual(docs.map((d) => [d.id]));
    expect(records[0].neighbours[0].text).toBe(
      'What cures zorblax fever?\nzorblax fever is cured by kelamine.',
    );
    expect(records[0].neighbours[0].loss).toHaveLength(3);
    expect(summary.accuracy_after!).toBeGreaterThan(summary.accuracy_before! + 0.25);
    expect(summary.flipped.wrong_to_right).toBeGreaterThan(summary.flipped.right_to_wrong);
    expect(summary).toMatchObject({
      n_items: 8,
      k: 1,
      steps: 3,
      lr: 3e-3,
      retriever: 'bm25',
      mode: 'loglik',
    });
    for (const phase of ['retrieve', 'adapt', 'answer', 'restore'] as const)
      expect(summary.timings_ms[phase]).toBeGreaterThanOrEqual(0);
  });

  it('in generate mode, records the replies before and after adaptation', async () => {
    const bench = await loadBenchmark(join(dir, 'questions.jsonl'), 'medqa');
    const base = model.params.snapshot();
    const ttt = await TestTimeTrainer.create(model, await buildIndex(docs), {
      k: 1,
      steps: 1,
      lr: 1e-3,
      session,
    });
    const { summary, records } = await evaluateWithTtt(bench, ttt, {
      mode: 'generate',
      maxTokens: 3,
      limit: 2,
    });
    await ttt.dispose();
    expect(summary).toMatchObject({ n_items: 2, mode: 'generate', weights_restored: true });
    for (const r of records) {
      expect(typeof r.before.output).toBe('string');
      expect(typeof r.after.output).toBe('string');
    }
    expect(records.map((r) => r.neighbours[0].id)).toEqual(['fact-0', 'fact-1']);
    expect(bits(model.params.data).equals(bits(base))).toBe(true);
  });

  it('with LoRA adapts only the adapters and resets them after every question', async () => {
    const fresh = clinicModel(12);
    const bench = await loadBenchmark(join(dir, 'questions.jsonl'), 'medqa');
    const ttt = await TestTimeTrainer.create(fresh, await buildIndex(docs), {
      k: 1,
      steps: 2,
      lr: 1e-2,
      lora: { r: 4 },
      session,
    });
    const adapted = fresh.params.snapshot();
    const { summary, records } = await evaluateWithTtt(bench, ttt, {
      choiceStyle: 'text',
      limit: 3,
    });
    await ttt.dispose();
    expect(fresh.lora).toBeDefined();
    expect(summary.weights_restored).toBe(true);
    expect(bits(fresh.params.data).equals(bits(adapted))).toBe(true);
    expect(records.some((r) => r.after.scores!.join() !== r.before.scores!.join())).toBe(true);
    await fresh.dispose();
  });
});

describe('dense retrieval', () => {
  it('with a model embedder, finds a document from its own text first', async () => {
    const model = clinicModel(13);
    const embedder = await modelEmbedder(model, { session });
    const index = await buildIndex(docs, { retriever: 'dense', embedder });
    const hits = await index.search(docs[5].text, 2);
    expect(hits[0].id).toBe(docs[5].id);
    expect(hits[0].score).toBeCloseTo(1, 5);
    const out = scratch();
    await saveIndex(index, out, embedder);
    const back = await loadIndex(out, embedder);
    expect(await back.search(docs[5].text, 2)).toEqual(hits);
    await expect(loadIndex(out, { id: 'model:other', embed: embedder.embed })).rejects.toThrow(
      'pass the same embedder',
    );
    await model.dispose();
  });

  it('with a user ONNX model, mean-pools its [B, T, D] output over the attention mask', async () => {
    const model = clinicModel(14);
    const tokenizerDir = scratch();
    await model.tokenizer!.save(tokenizerDir);
    // An embedding table as the whole model: vector of a text = mean of its tokens' rows.
    const vocab = model.tokenizer!.vocabSize;
    const table = Array.from({ length: vocab * 4 }, (_, i) => Math.sin(i * 0.37));
    const g = new Graph({ name: 'embed' });
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    g.input('attention_mask', 'int64', ['B', 'T']);
    g.output(gather(g.constant(table, 'float32', [vocab, 4]), ids, 0), 'last_hidden_state');
    const file = join(scratch(), 'embed.onnx');
    writeFileSync(file, toOnnxBytes(g));
    const embedder = await onnxEmbedder(file, tokenizerDir, { session });
    const [vector] = await embedder.embed(['kelamine cures']);
    const tokens = model.tokenizer!.encode('kelamine cures');
    const mean = [0, 1, 2, 3].map(
      (d) => tokens.reduce((s, t) => s + table[t * 4 + d], 0) / tokens.length,
    );
    const norm = Math.hypot(...mean);
    mean.forEach((m, d) => expect(vector[d]).toBeCloseTo(m / norm, 5));
    const index = await buildIndex(docs, { retriever: 'dense', embedder });
    expect((await index.search(docs[2].text, 1))[0].id).toBe(docs[2].id);
    await model.dispose();
  });
});

describe('indexArtifact(store, file, options)', () => {
  it('builds the index once and reuses the artifact when asked again', async () => {
    const store = new ArtifactStore(scratch());
    const first = await indexArtifact(store, join(dir, 'facts.jsonl'));
    const again = await indexArtifact(store, join(dir, 'facts.jsonl'));
    expect([first.reused, again.reused]).toEqual([false, true]);
    expect(again.key).toBe(first.key);
    expect(await again.index.search('Which drug cures quintal rot?', 1)).toEqual([
      expect.objectContaining({ id: 'fact-1' }),
    ]);
    expect((await store.list('index')).length).toBe(1);
  });
});
