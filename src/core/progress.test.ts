import { describe, expect, it } from 'vitest';
import { ProgressTracker, formatDuration, formatProgressLine } from './progress.ts';

describe('ProgressTracker', () => {
  it('event(step, units) derives rate and ETA from elapsed time', () => {
    let t = 0;
    const tracker = new ProgressTracker('sft', 100, 'tok/s', () => t);
    t = 2000;
    const e = tracker.event(25, 1000, { loss: 2.5 });
    expect(e.elapsed).toBe(2);
    expect(e.rate).toBe(500);
    expect(e.eta).toBe(6);
    expect(e.loss).toBe(2.5);
  });

  it('has no ETA without a total', () => {
    let t = 0;
    const tracker = new ProgressTracker('synth', undefined, 'items/s', () => t);
    t = 1000;
    expect(tracker.event(3, 3).eta).toBeUndefined();
  });
});

describe('formatProgressLine', () => {
  it('shows bar, counts, loss, rate and ETA', () => {
    const line = formatProgressLine(
      {
        stage: 'sft',
        step: 50,
        total: 100,
        loss: 2.31449,
        rate: 6120.4,
        rateUnit: 'tok/s',
        elapsed: 10,
        eta: 65,
      },
      10,
    );
    expect(line).toBe('sft [#####-----] 50/100 loss 2.3145 6,120 tok/s ETA 1m05s');
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});
