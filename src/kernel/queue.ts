import type { JobWeight } from './protocol.ts';

/** A place in the {@link JobQueue}. */
export interface QueueTicket {
  /** True once the job has been given a slot. */
  readonly started: boolean;
  /** Jobs ahead of this one in its lane (0: next to start); -1 once started or cancelled. */
  position(): number;
  /** Leaves the queue; false when the job had already started. */
  cancel(): boolean;
}

interface Entry {
  start: () => Promise<void>;
  started: boolean;
}

/**
 * Two lanes of first-in, first-out work: heavy jobs share few slots (one by default, since a
 * training step already uses every core), light jobs run alongside them in their own slots.
 */
export class JobQueue {
  private readonly waiting: Record<JobWeight, Entry[]> = { heavy: [], light: [] };
  private readonly running: Record<JobWeight, number> = { heavy: 0, light: 0 };

  constructor(private readonly slots: Record<JobWeight, number>) {
    for (const lane of ['heavy', 'light'] as const) {
      if (!Number.isInteger(slots[lane]) || slots[lane] < 1) {
        throw new RangeError(`JobQueue: ${lane} slots must be a positive integer`);
      }
    }
  }

  /** Queues `start`, which is called when a slot in `weight`'s lane is free; it must report its own errors. */
  enqueue(weight: JobWeight, start: () => Promise<void>): QueueTicket {
    const entry: Entry = { start, started: false };
    const lane = this.waiting[weight];
    lane.push(entry);
    this.pump(weight);
    return {
      get started() {
        return entry.started;
      },
      position: () => lane.indexOf(entry),
      cancel: () => {
        if (entry.started) return false;
        lane.splice(lane.indexOf(entry), 1);
        return true;
      },
    };
  }

  /** Jobs running in each lane. */
  active(): Record<JobWeight, number> {
    return { ...this.running };
  }

  private pump(weight: JobWeight): void {
    const lane = this.waiting[weight];
    while (this.running[weight] < this.slots[weight] && lane.length > 0) {
      const entry = lane.shift() as Entry;
      entry.started = true;
      this.running[weight]++;
      void Promise.resolve()
        .then(entry.start)
        // `start` reports its own failures to whoever waits for the job; the lane only needs the slot back.
        .catch(() => undefined)
        .finally(() => {
          this.running[weight]--;
          this.pump(weight);
        });
    }
  }
}
