import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { sharedDataDir } from '../core/shared-data.ts';
import { corpusCandidates, corpusTopic } from './corpus-instructions.ts';
import { readCorpus } from './corpus.ts';
import { validateRows } from './export.ts';
import { loadKnowledgeBase } from './knowledge.ts';
import { buildLexicon } from './lexicon.ts';
import { scoreInstruction } from './scoring.ts';
import { selectInstruction } from './selection.ts';
import { synthesize } from './synthesize.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'finemed-corpus-'));
const GOUT =
  'Gout is a painful form of arthritis. Symptoms include sudden severe pain and swelling in the big toe. It is caused by uric acid crystals in the joint. Doctors diagnose it with a blood test and by testing fluid from the joint. Treatment includes medicines that reduce pain and lower uric acid.';

describe('readCorpus(path, options)', () => {
  it('reads JSONL with a text field, drops "Summary :" prefixes and splits long documents', async () => {
    const file = join(scratch(), 'c.jsonl');
    const long = Array.from(
      { length: 30 },
      (_, i) => `Sentence number ${i} about kidney stones and their treatment.`,
    ).join(' ');
    writeFileSync(
      file,
      [
        JSON.stringify({ id: 'g', title: 'Gout', text: `Summary : ${GOUT}` }),
        JSON.stringify({ id: 'k', text: long }),
      ].join('\n'),
    );
    const docs = await readCorpus(file, { maxWords: 120 });
    expect(docs[0]).toMatchObject({ id: 'corpus-g', topic: 'Gout', origin: 'corpus' });
    expect(docs[0].text.startsWith('Gout is')).toBe(true);
    expect(docs.filter((d) => d.id.startsWith('corpus-k-')).length).toBeGreaterThan(1);
  });

  it('reads a folder of .txt files, titled by file name', async () => {
    const dir = join(scratch(), 'txt');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'kidney_stones.txt'),
      'Kidney stones are hard deposits that form in the kidney and cause severe pain.',
    );
    writeFileSync(join(dir, 'notes.md'), 'ignored');
    expect((await readCorpus(dir)).map((d) => [d.id, d.topic])).toEqual([
      ['corpus-kidney_stones', 'kidney stones'],
    ]);
  });

  it('names the file, line and field of a bad line', async () => {
    const file = join(scratch(), 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ text: GOUT })}\n${JSON.stringify({ body: 'x' })}\n`);
    const error = await readCorpus(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ file, line: 2, field: 'answer' });
    await expect(readCorpus(file, { field: 'body' })).rejects.toThrow(/line 1|:1:/);
  });

  it('skips bad lines with skipBadRows and says which, a BOM and CRLF included', async () => {
    const file = join(scratch(), 'mixed.jsonl');
    const good = JSON.stringify({ id: 'g', text: GOUT });
    writeFileSync(file, `\uFEFF${good}\r\n{oops\r\n${JSON.stringify({ id: 'n', text: 7 })}\r\n`);
    await expect(readCorpus(file)).rejects.toThrow(/mixed\.jsonl:2: not valid JSON/);
    const told: unknown[] = [];
    const docs = await readCorpus(file, {
      skipBadRows: true,
      onSkipped: (rows) => told.push(...rows),
    });
    expect(docs.map((d) => d.id)).toEqual(['corpus-g']);
    expect(told).toEqual([
      { source: { file, line: 2 }, reason: expect.stringMatching(/^not valid JSON/) },
      {
        source: { file, line: 3 },
        reason: expect.stringMatching(/^answer: expected a string field/),
      },
    ]);
  });

  it('refuses a line over the row limit instead of dropping it', async () => {
    const file = join(scratch(), 'long.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ text: GOUT })}\n${JSON.stringify({ text: GOUT.repeat(40) })}\n`,
    );
    await expect(readCorpus(file, { maxRowBytes: 4096 })).rejects.toThrow(
      /long\.jsonl:2: row is [\d,]+ bytes, over the 4 KiB row limit \(--max-row-bytes\)/,
    );
  });
});

describe('corpusCandidates(doc, rng)', () => {
  it('asks about the aspects the text covers, with the matching sentences as evidence', async () => {
    const [doc] = await readCorpus(writeTemp(JSON.stringify({ id: 'g', text: GOUT })));
    expect(corpusTopic(doc)).toBe('Gout');
    const seen = new Set<string>();
    for (let seed = 0; seed < 30; seed++)
      for (const c of corpusCandidates(doc, new Rng(seed))) seen.add(c.text);
    expect(seen).toContain('What are the symptoms of Gout?');
    expect(seen).toContain('How is Gout treated?');
    const c = corpusCandidates(doc, new Rng(3)).find((x) => x.facts.evidence?.length);
    expect(c?.facts.evidence?.every((s) => GOUT.includes(s))).toBe(true);
  });
});

function writeTemp(line: string): string {
  const file = join(scratch(), 'one.jsonl');
  writeFileSync(file, line + '\n');
  return file;
}

const shared = sharedDataDir();
const medline = shared && join(shared, 'corpus', 'medlineplus_topics.jsonl');

describe('the real MedlinePlus corpus', () => {
  it.skipIf(!medline)(
    `runs through the offline instruction stage${medline ? '' : ' (skipped: ../shared/data is absent)'}`,
    async () => {
      const docs = await readCorpus(medline!, { limit: 200 });
      expect(docs.length).toBeGreaterThanOrEqual(200);
      const lex = buildLexicon(loadKnowledgeBase());
      const rng = new Rng(1);
      let kept = 0;
      let dropped = 0;
      for (const doc of docs) {
        const [a, b] = corpusCandidates(doc, rng.fork(doc.id));
        expect(a.text).not.toBe(b.text);
        const { pick } = selectInstruction(
          scoreInstruction(a.text, lex),
          scoreInstruction(b.text, lex),
          rng,
        );
        if (pick === 0) dropped++;
        else kept++;
        expect(doc.topic && doc.topic.length > 0).toBe(true);
      }
      expect(kept).toBeGreaterThan(0.8 * docs.length);
      expect(kept + dropped).toBe(docs.length);
    },
  );

  it.skipIf(!medline)(
    `feeds a corpus-only synthesis whose rows all validate${medline ? '' : ' (skipped: ../shared/data is absent)'}`,
    async () => {
      const result = await synthesize({
        preset: 'tiny',
        corpus: { path: medline!, limit: 60, only: true },
      });
      validateRows(result);
      expect(result.report.counts.kbPassages).toBe(0);
      expect(result.pretrain.every((r) => r.provenance.generator === 'corpus')).toBe(true);
      expect(result.sftCommon.length).toBeGreaterThan(40);
      expect(result.report.contamination.passed).toBe(true);
    },
  );
});
