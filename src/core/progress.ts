/** One step of a long job, as every layer reports it (trainer, synthesizer, evaluator). */
export interface ProgressEvent {
  /** What is running, e.g. `sft`, `synth:instructions`, `eval:medqa`. */
  stage: string;
  /** Steps done so far. */
  step: number;
  /** Total steps, when known. */
  total?: number;
  /** Latest training loss, when the job trains. */
  loss?: number;
  /** Throughput in `rateUnit`s per second (tokens/s for training, items/s otherwise). */
  rate?: number;
  /** Unit of `rate`, e.g. `tok/s`, `items/s`. */
  rateUnit?: string;
  /** Seconds elapsed since the job started. */
  elapsed: number;
  /** Estimated seconds left, when `total` is known. */
  eta?: number;
  /** Stage-specific figures (learning rate, reward margins, eval accuracy...). */
  metrics?: Record<string, number>;
  /** A short human-readable message. */
  message?: string;
}

/** A function that receives progress events. */
export type ProgressSink = (event: ProgressEvent) => void;

/**
 * Tracks elapsed time and derives rate and ETA for a job with a known or unknown total.
 * The rate is averaged over the whole run so far, which is steadier than per-step figures.
 */
export class ProgressTracker {
  private readonly start: number;
  private units = 0;

  /** `now` is injectable so that tests are independent of wall-clock time. */
  constructor(
    private readonly stage: string,
    private readonly total?: number,
    private readonly rateUnit = 'items/s',
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  /** Builds the event for `step`, counting `units` more work units (tokens, items) since the last call. */
  event(step: number, units: number, extra: Partial<ProgressEvent> = {}): ProgressEvent {
    this.units += units;
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.units / elapsed : undefined;
    const eta =
      this.total !== undefined && step > 0 && elapsed > 0
        ? ((this.total - step) * elapsed) / step
        : undefined;
    return {
      stage: this.stage,
      step,
      total: this.total,
      rate,
      rateUnit: this.rateUnit,
      elapsed,
      eta,
      ...extra,
    };
  }
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** One line describing an event: `sft [#####-----] 50/100 loss 2.314 6,120 tok/s ETA 1m05s`. */
export function formatProgressLine(event: ProgressEvent, width = 24): string {
  const parts = [event.stage];
  if (event.total) {
    const filled = Math.min(width, Math.round((event.step / event.total) * width));
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${event.step}/${event.total}`,
    );
  } else {
    parts.push(`step ${event.step}`);
  }
  if (event.loss !== undefined) parts.push(`loss ${event.loss.toFixed(4)}`);
  if (event.rate !== undefined) {
    parts.push(`${Math.round(event.rate).toLocaleString('en-US')} ${event.rateUnit ?? 'items/s'}`);
  }
  if (event.eta !== undefined) parts.push(`ETA ${formatDuration(event.eta)}`);
  if (event.message) parts.push(event.message);
  return parts.join(' ');
}

/**
 * A progress sink that redraws one terminal line on stderr, or prints a plain line every
 * few seconds when stderr is not a terminal (CI logs, pipes).
 */
export function terminalProgress(
  stream: NodeJS.WriteStream = process.stderr,
): ProgressSink & { done(): void } {
  let lastPlain = 0;
  let drawn = false;
  const sink = (event: ProgressEvent): void => {
    const line = formatProgressLine(event);
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
      drawn = true;
    } else if (event.elapsed - lastPlain >= 5 || event.step === event.total) {
      lastPlain = event.elapsed;
      stream.write(line + '\n');
    }
  };
  return Object.assign(sink, {
    done(): void {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  });
}
