import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, type ArtifactMeta } from './artifacts.ts';
import { projectRoot } from './version.ts';

const fixture = join(projectRoot, 'src', 'core', 'fixtures', 'publisher.ts');
const children = new Set<ChildProcess>();
let bundle = '';

// One bundle run by plain node: a tsx loader per child costs ~5x the CPU, which 32 children
// on a small machine turn into a minute of start-up.
beforeAll(async () => {
  bundle = join(mkdtempSync(join(tmpdir(), 'finemed-publisher-')), 'publisher.mjs');
  await build({
    entryPoints: [fixture],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // proper-lockfile is CommonJS and requires node built-ins, which an ES module must provide.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
});

/** A publisher process (see the fixture) with its announced temp folder and final result. */
interface Publisher {
  child: ChildProcess;
  /** Resolves with the temp folder once the child is building in it. */
  building: Promise<string>;
  /** Resolves with the exit code and the result line, once the child exits. */
  exited: Promise<{ code: number | null; result?: PublishResult; stderr: string }>;
}

interface PublishResult {
  dir: string;
  reused: boolean;
  meta: ArtifactMeta;
}

function publisher(root: string, goFile: string, staleMs: number): Publisher {
  const child = spawn(process.execPath, [bundle, root, goFile, `${staleMs}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let result: PublishResult | undefined;
  const building = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('building ')) resolve(line.slice('building '.length));
      else result = JSON.parse(line) as PublishResult;
    });
    child.on('exit', () => reject(new Error(`publisher ${child.pid} exited early: ${stderr}`)));
  });
  building.catch(() => undefined);
  const exited = new Promise<{ code: number | null; result?: PublishResult; stderr: string }>(
    (resolve) => child.on('close', (code) => resolve({ code, result, stderr })),
  );
  return { child, building, exited };
}

function scratch(): { root: string; goFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-store-procs-'));
  return { root: join(dir, 'home'), goFile: join(dir, 'go') };
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('ArtifactStore across processes', () => {
  it('32 processes publishing one key all succeed and see one artifact', async () => {
    const { root, goFile } = scratch();
    const writers = Array.from({ length: 32 }, () => publisher(root, goFile, 30_000));
    // Every writer has built its own copy before any renames, so the renames really race.
    await Promise.all(writers.map((w) => w.building));
    writeFileSync(goFile, '');
    const outcomes = await Promise.all(writers.map((w) => w.exited));
    for (const { code, stderr } of outcomes) expect({ code, stderr }).toEqual({ code: 0, stderr });
    const results = outcomes.map((o) => o.result!);
    const winners = results.filter((r) => !r.reused);
    expect(winners.length).toBe(1);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r.meta))).size).toBe(1);
    const store = new ArtifactStore(root);
    const listed = await store.list();
    expect(listed.map((a) => a.meta)).toEqual([winners[0].meta]);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  }, 180_000);

  it("a sweep during a running job keeps the job's folder, and the job then completes", async () => {
    const { root, goFile } = scratch();
    const job = publisher(root, goFile, 30_000);
    const tmpDir = await job.building;
    const report = await new ArtifactStore(root).sweep();
    expect(report.removed).toEqual([]);
    expect(report.kept).toEqual([
      { path: tmpDir, reason: expect.stringMatching(/^in use by a running job \(lock refreshed/) },
    ]);
    expect(existsSync(tmpDir)).toBe(true);
    writeFileSync(goFile, '');
    const { code, result, stderr } = await job.exited;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(result!.reused).toBe(false);
    expect(result!.meta.files.map((f) => f.name)).toEqual(['rows.jsonl']);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  }, 60_000);

  it('a temp folder whose owner process was killed is swept once its lock goes stale', async () => {
    const { root, goFile } = scratch();
    const staleMs = 2_000; // proper-lockfile's minimum, to keep the wait short
    const job = publisher(root, goFile, staleMs);
    const tmpDir = await job.building;
    job.child.kill('SIGKILL');
    expect((await job.exited).code).toBe(null);
    const store = new ArtifactStore(root, { staleMs });
    let removed: string[] = [];
    // Up to the stale age after the last refresh, the lock still reads as a live owner.
    for (let tries = 0; removed.length === 0 && tries < 100; tries++) {
      removed = (await store.sweep()).removed.map((e) => e.path);
      if (removed.length === 0) await sleep(100);
    }
    expect(removed).toEqual([tmpDir]);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(await store.list()).toEqual([]);
  }, 60_000);
});
