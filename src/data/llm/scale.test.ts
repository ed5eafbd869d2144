import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/progress.ts';
import { toJsonl } from '../export.ts';
import type { LlmSettings, SynthesisOptions } from '../presets.ts';
import { synthesize, type SynthesisResult } from '../synthesize.ts';
import { emptyStats, type ClientStats } from './client.ts';
import { startFakeLlmServer, type FakeLlmServer, type FakeServerOptions } from './fake-server.ts';
import { LlmProgress } from './progress.ts';

const servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  const s = await startFakeLlmServer(options);
  servers.push(s);
  return s;
}

function run(url: string, llm: Partial<LlmSettings> = {}): SynthesisOptions {
  return {
    preset: 'tiny',
    conditions: 6,
    passages: 16,
    evalItems: 6,
    llm: {
      baseUrl: url,
      model: 'fake-medical',
      cacheDir: mkdtempSync(join(tmpdir(), 'finemed-llm-scale-')),
      backoffMs: 1,
      ...llm,
    },
  };
}

const files = (r: SynthesisResult): string =>
  [r.pretrain, r.sftCommon, r.sftComplex, r.dpo, r.sftDepartment, r.evalMcq]
    .map(toJsonl)
    .join('\n---\n');

describe('LLM synthesis at scale', () => {
  it('keeps at most N requests in flight and writes the same files whatever N is', async () => {
    const one = await server({ latencyMs: 5 });
    const four = await server({ latencyMs: 5 });
    const serial = await synthesize(run(one.url, { concurrency: 1 }));
    const parallel = await synthesize(run(four.url, { concurrency: 4 }));
    expect(one.maxInFlight()).toBe(1);
    expect(four.maxInFlight()).toBe(4);
    expect(four.requests()).toBe(one.requests());
    expect(files(parallel)).toBe(files(serial));
    expect(serial.sftCommon.length + serial.sftComplex.length).toBeGreaterThan(0);
  });

  it('resumes an interrupted run without sending any request twice, and ends where an uninterrupted run does', async () => {
    const K = 40;
    const controller = new AbortController();
    // The abort lands while request K (and others) are on the wire: their answers still count.
    const interrupted = await server({
      latencyMs: 5,
      plan: ({ index }) => (index === K && controller.abort(), 'ok'),
    });
    const settings = run(interrupted.url, { concurrency: 4 });
    await expect(synthesize(settings, { signal: controller.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    const sentBeforeResume = interrupted.requests();
    expect(sentBeforeResume).toBeGreaterThan(K);

    const resumed = await synthesize(settings);
    const stats = resumed.report.backend as unknown as ClientStats;
    expect(stats.cacheHits).toBe(sentBeforeResume);
    expect(stats.requests).toBe(interrupted.requests() - sentBeforeResume);
    expect([...interrupted.bodies.values()].filter((b) => b.attempts > 1)).toEqual([]);

    const fresh = await server({ latencyMs: 5 });
    const whole = await synthesize(run(fresh.url, { concurrency: 4 }));
    expect(interrupted.requests()).toBe(fresh.requests());
    expect(files(resumed)).toBe(files(whole));
  });

  it('reports requests/s, tokens/s and the cost so far on the pipeline progress line', async () => {
    const fake = await server();
    const events: ProgressEvent[] = [];
    const result = await synthesize(
      run(fake.url, { concurrency: 2, prices: { input: 3, output: 15 } }),
      { onProgress: (e) => events.push(e) },
    );
    const last = events.filter((e) => e.stage === 'synth:pipeline').pop()!;
    const stats = result.report.backend as unknown as ClientStats & { cost: number };
    expect(stats.promptTokens).toBeGreaterThan(0);
    expect(stats.completionTokens).toBeGreaterThan(0);
    expect(stats.cost).toBeCloseTo((stats.promptTokens * 3 + stats.completionTokens * 15) / 1e6);
    expect(last.metrics).toMatchObject({
      requests: stats.requests,
      promptTokens: stats.promptTokens,
      cost: stats.cost,
    });
    expect(last.message).toMatch(/req\/s · [\d,]+ tok\/s · \$0\.\d{4}$/);
  });
});

describe('LlmProgress', () => {
  const stats = (over: Partial<ClientStats>): ClientStats => ({ ...emptyStats(), ...over });

  it('derives rates from the first answer and shows the cost only when priced', () => {
    let ms = 0;
    const seen: ProgressEvent[] = [];
    const priced = new LlmProgress(
      (e) => seen.push(e),
      { input: 1, output: 2 },
      () => ms,
    );
    const event = { stage: 'synth:pipeline', step: 3, total: 10, elapsed: 60 };
    priced.pipeline(event);
    expect(seen.pop()).toEqual(event);
    priced.answered(stats({ successes: 1 }));
    ms = 4000;
    const s = stats({ successes: 9, cacheHits: 5, promptTokens: 3000, completionTokens: 1000 });
    priced.answered(s);
    expect(seen.pop()!.message).toBe('9 req + 5 cached · 2.3 req/s · 1,000 tok/s · $0.0050');

    const free = new LlmProgress(
      (e) => seen.push(e),
      undefined,
      () => ms,
    );
    free.answered(s);
    free.pipeline(event);
    expect(seen.pop()!.message).toBe('9 req + 5 cached · 0.0 req/s · 0 tok/s');
  });
});
