import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { toJsonl, validateRows } from '../export.ts';
import type { SynthesisOptions } from '../presets.ts';
import { synthesize, type SynthesisResult } from '../synthesize.ts';
import { startFakeLlmServer, type FakeLlmServer, type FaultPlan } from './fake-server.ts';

/** First attempts fail in every way the client must survive; content faults hit some bodies. */
const hostile: FaultPlan = ({ body, attempt, index }) => {
  if (attempt === 0) {
    const kind = index % 9;
    if (kind === 1) return 'http-500';
    if (kind === 3) return 'http-429';
    if (kind === 5) return 'hang';
    if (kind === 7) return 'garbage-body';
  }
  const h = sha256(body)[0];
  if (attempt <= 1 && h === 'a') return 'fenced-json';
  if (attempt <= 1 && h === 'b') return 'broken-json';
  return 'ok';
};

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function llmOptions(
  url: string,
  cacheDir: string,
  extra: Partial<NonNullable<SynthesisOptions['llm']>> = {},
): SynthesisOptions {
  return {
    preset: 'tiny',
    conditions: 8,
    passages: 24,
    evalItems: 8,
    llm: {
      baseUrl: url,
      model: 'fake-medical',
      cacheDir,
      timeoutMs: 300,
      backoffMs: 1,
      maxRetries: 6,
      concurrency: 4,
      ...extra,
    },
  };
}

const datasets = (r: SynthesisResult): string =>
  [r.pretrain, r.sftCommon, r.sftComplex, r.dpo, r.evalMcq].map(toJsonl).join('\n---\n');

const paidTwice = (s: FakeLlmServer): number =>
  [...s.bodies.values()].filter((b) => b.successes > 1).length;

describe('synthesize({ llm }) against a faulty OpenAI-compatible server', () => {
  it('completes, loses nothing, pays for nothing twice, and a second run sends zero requests', async () => {
    server = await startFakeLlmServer({ plan: hostile });
    const cache = mkdtempSync(join(tmpdir(), 'finemed-llm-'));
    const first = await synthesize(llmOptions(server.url, cache));
    validateRows(first);
    const c = first.report.counts;
    expect(c.texts).toBe(24);
    expect(c.common + c.complex + c.droppedBothMentionDetails).toBe(24);
    expect(Object.keys(first.report.rejects).filter((s) => s !== 'selection')).toEqual([]);
    expect(c.complex).toBeGreaterThan(0);
    expect(first.sftComplex.every((r) => r.messages[1].content.startsWith('## Thought\n'))).toBe(
      true,
    );
    expect(first.dpo.every((r) => r.rejected_kind === 'direct')).toBe(true);
    expect(first.sftCommon[0].provenance.generator).toBe('llm:fake-medical');

    const stats = first.report.backend as {
      retries: number;
      timeouts: number;
      errors: Record<string, number>;
      parseFailures: Record<string, { failed: number; repaired: number; lost: number }>;
    };
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.timeouts).toBeGreaterThan(0);
    expect(Object.keys(stats.errors).sort()).toEqual(['429', '500', 'bad-body', 'timeout']);
    const parse = Object.values(stats.parseFailures);
    expect(parse.reduce((s, p) => s + p.failed, 0)).toBeGreaterThan(0);
    expect(parse.reduce((s, p) => s + p.lost, 0)).toBe(0);
    expect(paidTwice(server)).toBe(0);

    const before = server.requests();
    const second = await synthesize(llmOptions(server.url, cache));
    expect(server.requests()).toBe(before);
    expect((second.report.backend as { requests: number }).requests).toBe(0);
    expect(datasets(second)).toBe(datasets(first));
  });

  it('a run stopped by its request budget resumes from the cache without repeating a paid call', async () => {
    server = await startFakeLlmServer({ plan: hostile });
    const cache = mkdtempSync(join(tmpdir(), 'finemed-llm-'));
    const partial = await synthesize(llmOptions(server.url, cache, { maxRequests: 60 }));
    expect(server.requests()).toBe(60);
    expect(partial.report.rejects).toHaveProperty('instructions');
    const full = await synthesize(llmOptions(server.url, cache));
    expect(
      full.report.counts.common +
        full.report.counts.complex +
        full.report.counts.droppedBothMentionDetails,
    ).toBe(24);
    expect(paidTwice(server)).toBe(0);
  });

  it('an abort stops the run with a CancelledError, and a rerun reuses what was paid', async () => {
    const controller = new AbortController();
    server = await startFakeLlmServer({
      plan: ({ index }) => (index === 50 && controller.abort(), 'ok'),
    });
    const cache = mkdtempSync(join(tmpdir(), 'finemed-llm-'));
    await expect(
      synthesize(llmOptions(server.url, cache), { signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
    const sentBefore = server.requests();
    await synthesize(llmOptions(server.url, cache));
    const fresh = await startFakeLlmServer();
    try {
      await synthesize(llmOptions(fresh.url, mkdtempSync(join(tmpdir(), 'finemed-llm-'))));
      expect(server.requests() - sentBefore).toBeLessThan(fresh.requests() - 40);
    } finally {
      await fresh.close();
    }
  });
});
