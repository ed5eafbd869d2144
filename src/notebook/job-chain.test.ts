import { afterEach, describe, expect, it } from 'vitest';
import type { JobState } from './job-run.ts';
import { closeSessions, notebookOf, openSession } from './testing.ts';

afterEach(closeSessions);

// Two jobs of one cell, the second taking the first (its run, not yet a value) as input.
const chain = (first: string): string =>
  `const a = wb.run('test.steps', ${first});\n` +
  "const b = wb.run('test.steps', { steps: 1, seed: 2, after: a });";

describe('jobs chained within one cell', () => {
  it('the second waits for the first, says so in its own line, then runs on its artifact', async () => {
    const { session } = openSession(notebookOf(chain('{ steps: 3, delayMs: 40 }')));
    const lines = (): string[] =>
      [...session.cell(1).root.querySelectorAll('.finemed-job')].map((e) => e.textContent ?? '');
    await expect
      .poll(lines, { interval: 5 })
      .toContain('test.steps: waiting for test.steps in cell 1');
    await session.settled();
    const [a, b] = ['a', 'b'].map((name) => session.cell(1).outputs[name] as JobState);
    expect([a.status, b.status]).toEqual(['done', 'done']);
    expect(b.waitingFor).toBeUndefined();
    expect(lines()).toEqual([
      `test.steps: done ${a.result!.artifact.kind} ${a.result!.artifact.key.slice(0, 12)}`,
      `test.steps: done ${b.result!.artifact.kind} ${b.result!.artifact.key.slice(0, 12)}`,
    ]);
    expect(session.cell(1).state.kind).toBe('done');
  });

  it('behind a costly first job, the cell is stale; running it runs both', async () => {
    const { session } = openSession(notebookOf(chain('{ steps: 1, seconds: 120 }')));
    await session.settled();
    const job = (name: string): JobState => session.cell(1).outputs[name] as JobState;
    expect(job('a').status).toBe('stale');
    expect(job('b')).toMatchObject({
      status: 'waiting',
      waitingFor: ['test.steps in cell 1 (stale)'],
    });
    expect(session.cell(1).state).toMatchObject({ kind: 'stale', jobs: ['test.steps'] });
    session.run(1);
    await session.settled();
    expect([job('a').status, job('b').status]).toEqual(['done', 'done']);
  });
});
