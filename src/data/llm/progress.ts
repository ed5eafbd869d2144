import type { ProgressEvent, ProgressSink } from '../../core/progress.ts';
import type { ClientStats } from './client.ts';

/** Dollars per million prompt (`input`) and completion (`output`) tokens. */
export interface TokenPrices {
  input: number;
  output: number;
}

/** What this run's requests cost at `prices` (cached answers are free). */
export function costOf(stats: ClientStats, prices: TokenPrices | undefined): number {
  if (!prices) return 0;
  return (stats.promptTokens * prices.input + stats.completionTokens * prices.output) / 1e6;
}

const count = (x: number): string => Math.round(x).toLocaleString('en-US');

/**
 * Request figures folded into the synthesis progress line: the pipeline's event (texts done,
 * ETA) carries answers so far, requests/s and tokens/s of paid requests, and the cost so far,
 * and every answer redraws it. Rates count from the first answer, not from the run's start,
 * so passage writing does not dilute them.
 */
export class LlmProgress {
  private last: ProgressEvent | undefined;
  private stats: ClientStats | undefined;
  private firstAnswer: number | undefined;

  /** `now` (milliseconds) is injectable so tests do not depend on the clock. */
  constructor(
    private readonly sink: ProgressSink,
    private readonly prices?: TokenPrices,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The sink the pipeline reports to. */
  readonly pipeline: ProgressSink = (event) => {
    this.last = event;
    this.sink(this.decorate(event));
  };

  /** Hears the client's accounting after each answer. */
  readonly answered = (stats: ClientStats): void => {
    this.firstAnswer ??= this.now();
    this.stats = stats;
    if (this.last) this.sink(this.decorate(this.last));
  };

  private decorate(event: ProgressEvent): ProgressEvent {
    const s = this.stats;
    if (!s) return event;
    const seconds = (this.now() - this.firstAnswer!) / 1000;
    const perSecond = (n: number): number => (seconds > 0 ? n / seconds : 0);
    const cost = costOf(s, this.prices);
    const metrics = {
      requests: s.requests,
      cacheHits: s.cacheHits,
      requestsPerSecond: perSecond(s.successes),
      tokensPerSecond: perSecond(s.promptTokens + s.completionTokens),
      promptTokens: s.promptTokens,
      completionTokens: s.completionTokens,
      ...(cost > 0 ? { cost } : {}),
    };
    const parts = [
      `${count(s.successes)} req${s.cacheHits ? ` + ${count(s.cacheHits)} cached` : ''}`,
      `${metrics.requestsPerSecond.toFixed(1)} req/s`,
      `${count(metrics.tokensPerSecond)} tok/s`,
      ...(cost > 0 ? [`$${cost.toFixed(cost < 1 ? 4 : 2)}`] : []),
    ];
    return {
      ...event,
      metrics: { ...event.metrics, ...metrics },
      message: [event.message, parts.join(' · ')].filter(Boolean).join(' '),
    };
  }
}
