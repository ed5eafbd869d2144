import { describe, expect, it } from 'vitest';
import { benchKernel } from './bench.ts';

describe('benchKernel(options)', () => {
  it('reports round trip, job start and progress rate for each transport', async () => {
    const results = await benchKernel({ hellos: 3, jobs: 1, events: 20 });
    expect(results.map((r) => r.transport)).toEqual([
      'in-process',
      'MessageChannel',
      'WebSocket on 127.0.0.1',
    ]);
    for (const r of results) {
      expect(r.helloMedianUs).toBeGreaterThan(0);
      expect(r.jobMedianMs).toBeGreaterThan(0);
      expect(r.progressPerSecond).toBeGreaterThan(0);
    }
  });
});
