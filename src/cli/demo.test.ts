import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { mcnemarExact } from '../eval/stats.ts';
import type { RunManifest } from '../notebook/node/manifest.ts';
import type { RunResults } from '../notebook/node/results.ts';
import { browserMissing, launchBrowser, screenshot } from '../ui/testing/browser.ts';
import { consoleProblems } from '../ui/testing/console.ts';
import { ladderText, type LadderRow } from '../eval/ladder-row.ts';
import { pooledRows } from '../eval/seeds.ts';
import { parseSeeds, type SeedsResults } from './demo-seeds.ts';
import { ladderOf } from './demo.ts';
import { runCli, type CliRun } from './testing.ts';

// One workbench home for the whole file: the teaching notebooks reuse the demo's artifacts.
const dir = mkdtempSync(join(tmpdir(), 'finemed-demo-'));
const env = { FINEMED_HOME: join(dir, 'home') };
const out = join(dir, 'tiny');
const STAGES = ['Base', 'SFT common', 'SFT department', 'Long-reasoning SFT', 'DPO', 'DPO+TTT'];
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

describe('ladderText(rows)', () => {
  it('lines up stage, n, accuracy, intervals, change, gained / lost and McNemar p', () => {
    const first = { paired: null, delta: null, deltaLo: null, deltaHi: null, b: null, c: null };
    const change = { paired: 200, deltaLo: 0.05, deltaHi: 0.2, b: 3, c: 28 };
    const rows: LadderRow[] = [
      { label: 'Base', n: 200, acc: 0.155, lo: 0.105, hi: 0.21, ...first, p: null },
      { label: 'DPO+TTT', n: 200, acc: 0.4, lo: 0.335, hi: 0.47, ...change, delta: 0.125, p: 2e-4 },
      { label: 'DPO', n: 200, acc: 0.2, lo: 0.15, hi: 0.26, ...change, delta: -0.2, p: 0.0412 },
    ];
    expect(ladderText(rows).split('\n')).toEqual([
      'stage      n  accuracy         95% CI  vs previous     change 95% CI  gained / lost  McNemar p',
      'Base     200     15.5%  10.5% \u2013 21.0%                                                         ',
      'DPO+TTT  200     40.0%  33.5% \u2013 47.0%    +12.5 pts  +5.0 \u2013 +20.0 pts         28 / 3     <0.001',
      'DPO      200     20.0%  15.0% \u2013 26.0%    \u221220.0 pts  +5.0 \u2013 +20.0 pts         28 / 3      0.041',
    ]);
  });

  it('finemed demo --preset paper is a usage error', async () => {
    const run = await runCli(['demo', '--preset', 'paper'], env);
    expect(run.code).toBe(2);
    expect(run.err).toContain('--preset must be one of tiny|demo');
  });
});

describe('finemed demo --preset tiny', () => {
  let first: CliRun;
  beforeAll(async () => {
    first = await runCli(['demo', '--preset', 'tiny', '--out', out], env);
  }, 900_000);

  it('runs the flagship notebook and prints the gain ladder of every stage', () => {
    expect(first.err).not.toContain('failed');
    expect(first.code).toBe(0);
    const ladder = ladderOf(readJson<RunResults>(join(out, 'results.json')).cells) ?? [];
    expect(ladder.map((r) => r.label)).toEqual(STAGES);
    for (const rung of ladder) {
      expect(rung.n).toBeGreaterThan(0);
      expect(rung.lo).toBeLessThanOrEqual(rung.acc);
      expect(rung.acc).toBeLessThanOrEqual(rung.hi);
    }
    expect(first.out).toContain(ladderText(ladder));
    expect(first.out).toContain(`${join(out, 'report.html')}\n`);
    const manifest = readJson<RunManifest>(join(out, 'manifest.json'));
    expect(manifest).toMatchObject({ preset: 'tiny', seed: 1 });
    expect(manifest.notebook.path).toBe(join(projectRoot, 'notebooks', 'finemed-o1.html'));
    expect(manifest.artifacts.some((a) => a.reused)).toBe(false);
  });

  it('the report states the notice and comments on every stage from the measured numbers', () => {
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    expect(report).toContain('Not for clinical use');
    const ladder = ladderOf(readJson<RunResults>(join(out, 'results.json')).cells)!;
    for (const rung of ladder.slice(1)) {
      const pct = `${(100 * rung.acc).toFixed(1)}%`;
      expect(report).toMatch(new RegExp(`<strong>${escape(rung.label)}</strong> [^<]*${pct}`));
    }
  });

  it("the department and rarity p-values are wb.stats' McNemar on their own counts", () => {
    const source = readFileSync(join(projectRoot, 'notebooks', 'finemed-o1.html'), 'utf8');
    expect(source).not.toMatch(/function mcnemar/);
    const cells = readJson<RunResults>(join(out, 'results.json')).cells;
    const outputs = (name: string) => cells.find((c) => c.outputs && name in c.outputs)!.outputs!;
    type Change = { lost: number; gained: number; p: number };
    const { inside, outside } = outputs('inside') as Record<string, Change>;
    const { tttByTier } = outputs('tttByTier') as { tttByTier: Record<string, Change> };
    const changes = [inside, outside, ...Object.values(tttByTier)];
    expect(changes).toHaveLength(5);
    for (const c of changes) expect(c.p).toBe(mcnemarExact(c.lost, c.gained));
  });

  it('opens in Chromium with a rung, an interval and a label for every stage', async ({ skip }) => {
    const missing = browserMissing();
    if (missing) skip(missing);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const problems = consoleProblems(page);
      await page.goto(`file://${join(out, 'report.html')}`);
      const chart = page.locator('svg.gain-ladder');
      await chart.scrollIntoViewIfNeeded();
      const stages = await chart
        .locator('g.stage')
        .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-stage')));
      expect(stages).toEqual(STAGES);
      for (const part of ['line.rung', 'line.ci'])
        expect(await chart.locator(part).count()).toBe(STAGES.length);
      expect(await chart.locator('text.gain').count()).toBe(STAGES.length - 1);
      expect(await chart.locator('.chance line').count()).toBe(1);
      const widths = await chart
        .locator('line.rung')
        .evaluateAll((ls) => ls.map((l) => (l as SVGLineElement).getBBox().width));
      expect(widths.every((w) => w > 0)).toBe(true);
      await chart.screenshot({ path: join(projectRoot, 'test-results', 'demo-ladder.png') });
      await screenshot(page, 'demo-report');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('a second run reuses every artifact and says so', async () => {
    const again = await runCli(['demo', '--preset', 'tiny', '--out', out, '--json'], env);
    expect(again.code).toBe(0);
    expect(again.json.reused).toBe(again.json.artifacts);
    expect((again.json.ladder as LadderRow[]).map((r) => r.acc)).toEqual(
      ladderOf(readJson<RunResults>(join(out, 'results.json')).cells)!.map((r) => r.acc),
    );
  });

  it('finemed verify recomputes every job in a fresh store and reproduces every number', async () => {
    const verified = await runCli(['verify', out], env);
    expect(verified.out).toMatch(/verify: all \d+ numbers reproduced/);
    expect(verified.code).toBe(0);
  }, 900_000);

  // After the single-seed demo, so seed 1 must reuse everything that run made.
  describe('finemed demo --preset tiny --seeds 1,2', () => {
    const agg = join(dir, 'tiny-seeds1-2');
    const seedDir = (seed: number) => join(dir, `tiny-seed${seed}`);
    let seeds: CliRun;
    beforeAll(async () => {
      seeds = await runCli(['demo', '--preset', 'tiny', '--seeds', '1,2', '--out', agg], env);
    }, 900_000);

    it('runs each seed into its single-seed folder and pools their ladders', () => {
      expect(seeds.err).not.toContain('failed');
      expect(seeds.code).toBe(0);
      const results = readJson<SeedsResults>(join(agg, 'results.json'));
      expect(results.runs).toEqual([
        { seed: 1, dir: '../tiny-seed1' },
        { seed: 2, dir: '../tiny-seed2' },
      ]);
      for (const seed of [1, 2]) {
        const run = readJson<RunResults>(join(seedDir(seed), 'results.json'));
        expect(results.perSeed.find((s) => s.seed === seed)?.rows).toEqual(ladderOf(run.cells));
        expect(readJson<RunManifest>(join(seedDir(seed), 'manifest.json'))).toMatchObject({
          preset: 'tiny',
          seed,
        });
      }
      // Seed 1 is the single-seed run above: same ladder, every artifact reused.
      const single = ladderOf(readJson<RunResults>(join(out, 'results.json')).cells);
      expect(results.perSeed[0].rows).toEqual(single);
      const seed1 = readJson<RunManifest>(join(seedDir(1), 'manifest.json'));
      expect(seed1.artifacts.every((a) => a.reused)).toBe(true);
      expect(results.pooled.map((r) => r.label)).toEqual(STAGES);
      expect(results.pooled[0].n).toBe(results.perSeed[0].rows[0].n + results.perSeed[1].rows[0].n);
      expect(seeds.out).toContain(ladderText(pooledRows(results.pooled)));
    });

    it('draws one ladder with a point per seed on every rung', () => {
      const report = readFileSync(join(agg, 'report.html'), 'utf8');
      expect(report.match(/<svg /g)).toHaveLength(1);
      for (const stage of STAGES) {
        const points = report.match(new RegExp(`class="point" data-stage="${escape(stage)}"`, 'g'));
        expect(points).toHaveLength(2);
      }
      expect(report).toContain('distinct across seeds');
    });

    it('a second run reuses every artifact', async () => {
      const again = await runCli(
        ['demo', '--preset', 'tiny', '--seeds', '1,2', '--out', agg, '--json'],
        env,
      );
      expect(again.code).toBe(0);
      expect(again.json.artifacts).toBeGreaterThan(0);
      expect(again.json.reused).toBe(again.json.artifacts);
      expect(again.json.pooled).toEqual(readJson<SeedsResults>(join(agg, 'results.json')).pooled);
    }, 600_000);

    it('finemed verify re-verifies each seed and the pooled figures, and fails on a tampered one', async () => {
      const verified = await runCli(['verify', agg, '--reuse'], env);
      expect(verified.out).toMatch(/verify: all \d+ numbers reproduced/);
      expect(verified.code).toBe(0);
      const file = join(agg, 'results.json');
      const original = readFileSync(file, 'utf8');
      const tampered = JSON.parse(original) as SeedsResults;
      tampered.perSeed[1].rows[2].acc += 0.01;
      writeFileSync(file, JSON.stringify(tampered));
      try {
        const caught = await runCli(['verify', agg, '--reuse'], env);
        expect(caught.code).toBe(1);
        expect(caught.out).toContain('differs: results.json perSeed[1].rows[2].acc');
      } finally {
        writeFileSync(file, original);
      }
    }, 1_200_000);

    it('--seeds takes two or more distinct integers', async () => {
      expect(parseSeeds('1, 2,3')).toEqual([1, 2, 3]);
      expect(() => parseSeeds('1')).toThrow('at least two seeds');
      expect(() => parseSeeds('1,1')).toThrow('repeats a seed');
      const run = await runCli(['demo', '--preset', 'tiny', '--seeds', '1,x'], env);
      expect(run.code).toBe(2);
      expect(run.err).toContain("--seeds takes integers such as 1,2,3; got '1,x'");
    });
  });

  // After the demo, so these can check they reuse its data and models.
  describe('the teaching notebooks, headless', () => {
    /** Runs `finemed run notebooks/NAME.html --preset tiny` and returns its results and manifest. */
    async function runTeaching(
      name: string,
    ): Promise<{ results: RunResults; manifest: RunManifest }> {
      const target = join(dir, name);
      const notebook = join(projectRoot, 'notebooks', `${name}.html`);
      const run = await runCli(['run', notebook, '--preset', 'tiny', '--out', target], env);
      expect(run.err).not.toContain('failed');
      expect(run.code).toBe(0);
      expect(existsSync(join(target, 'report.html'))).toBe(true);
      return {
        results: readJson<RunResults>(join(target, 'results.json')),
        manifest: readJson<RunManifest>(join(target, 'manifest.json')),
      };
    }
    const outputs = (results: RunResults, name: string): Record<string, unknown> =>
      results.cells.find((c) => c.outputs && name in c.outputs)!.outputs!;

    it('finemed run notebooks/dpo-by-hand.html: the beta cell is the DPO loss of the cached log-probs', async () => {
      const { results, manifest } = await runTeaching('dpo-by-hand');
      const logps = (cell: number) => {
        const a = manifest.artifacts.find((x) => x.cell === cell && x.job === 'dpo.logps')!;
        const file = join(env.FINEMED_HOME, 'artifacts', a.kind, a.key, 'logps.jsonl');
        return readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { chosen: number; rejected: number });
      };
      expect(manifest.artifacts.filter((a) => a.reused).map((a) => a.job)).toEqual([
        'synth',
        'model.init',
      ]);
      const [reference, policy] = [logps(8), logps(9)];
      const { beta } = outputs(results, 'beta') as { beta: number };
      const margins = policy.map(
        (p, i) => beta * (p.chosen - reference[i].chosen - (p.rejected - reference[i].rejected)),
      );
      const loss = margins.reduce((a, m) => a + Math.log1p(Math.exp(-m)), 0) / margins.length;
      const { meanLoss, rewardAccuracy } = outputs(results, 'meanLoss') as Record<string, number>;
      expect(meanLoss).toBeCloseTo(loss, 10);
      expect(rewardAccuracy).toBe(margins.filter((m) => m > 0).length / margins.length);
    });

    it('finemed run notebooks/what-ttt-does.html: option scores before and after, weights restored', async () => {
      const { results, manifest } = await runTeaching('what-ttt-does');
      // Its data and models are the flagship's, so after the demo only the TTT job runs.
      expect(manifest.artifacts.map((a) => [a.job, a.reused])).toEqual([
        ['synth', true],
        ['model.init', true],
        ['train.sft', true],
        ['train.sft', true],
        ['ttt', false],
      ]);
      const { summary } = outputs(results, 'summary') as {
        summary: { weights_sha256: { before: string; after: string }; n_items: number };
      };
      expect(summary.weights_sha256.before).toMatch(/^[0-9a-f]{64}$/);
      expect(summary.weights_sha256.after).toBe(summary.weights_sha256.before);
      const { picked } = outputs(results, 'picked') as {
        picked: {
          before: { scores: number[] };
          after: { scores: number[] };
          neighbours: unknown[];
        };
      };
      expect(picked.before.scores).toHaveLength(4);
      expect(picked.after.scores).toHaveLength(4);
      expect(picked.after.scores).not.toEqual(picked.before.scores);
      expect(picked.neighbours.length).toBeGreaterThan(0);
    });

    it('finemed run notebooks/scale-out.html: exports, imports with provenance, and ladders local and imported stages; no endpoint is a hint, not a failure', async () => {
      const { results, manifest } = await runTeaching('scale-out');
      // The flagship's data, model, pretraining and common SFT (the stage it exports and then
      // trains here as the local rung) are all reused.
      const reused = (job: string) =>
        manifest.artifacts.filter((a) => a.job === job).map((a) => a.reused);
      expect([reused('synth'), reused('model.init'), reused('train.sft')]).toEqual([
        [true],
        [true],
        [true, true],
      ]);
      const imported = manifest.artifacts.find((a) => a.job === 'model.import')!;
      expect(imported.provenance).toMatch(/^export bundle [0-9a-f]{16,}$/);

      expect(outputs(results, 'evalServed').evalServed).toBeNull();
      expect(readFileSync(join(dir, 'scale-out', 'report.html'), 'utf8')).toContain(
        'No served model yet',
      );
      const rows = outputs(results, 'ladderRows').ladderRows as LadderRow[];
      expect(rows.map((r) => r.label)).toEqual([
        'Pretrained',
        'SFT (trained here)',
        'SFT (imported)',
      ]);
      expect(rows[2]).toMatchObject({ b: 0, c: 0 });
      const { roundTrip } = outputs(results, 'roundTrip') as {
        roundTrip: { items: number; sameAnswer: number; maxScoreGap: number };
      };
      expect(roundTrip.items).toBeGreaterThan(0);
      expect(roundTrip.sameAnswer).toBe(roundTrip.items);
      expect(roundTrip.maxScoreGap).toBe(0);
    }, 600_000);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
