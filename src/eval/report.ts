import { basename } from 'node:path';
import { harnessLines } from './harness-conformance.ts';
import type { EvalSummary } from './results.ts';

const f3 = (v: number | null): string => (v === null ? '-' : v.toFixed(3));

/** A few lines a person reads after `finemed eval`: counts, accuracy with CI, subjects. */
export function formatSummary(summary: EvalSummary): string {
  const lines = [
    `${summary.format} ${basename(summary.bench)}: ${summary.n_items} items, ${summary.n_scored} scored, ${summary.n_skipped} skipped ` +
      `(${summary.mode}, ${summary.shots}-shot${summary.chain_of_thought ? ', chain of thought' : ''})`,
    `accuracy ${f3(summary.accuracy)} [${f3(summary.ci95[0])}, ${f3(summary.ci95[1])}]` +
      (summary.acc_norm !== undefined
        ? `  acc_norm ${f3(summary.acc_norm)} [${f3(summary.acc_norm_ci95?.[0] ?? null)}, ${f3(summary.acc_norm_ci95?.[1] ?? null)}]`
        : '') +
      (summary.n_unparseable !== undefined ? `  unparseable ${summary.n_unparseable}` : ''),
    ...harnessLines(summary),
  ];
  if (summary.by_subject.length > 1) {
    const width = Math.max(...summary.by_subject.map((s) => s.subject.length));
    for (const s of summary.by_subject) {
      lines.push(
        `  ${s.subject.padEnd(width)}  ${String(s.n).padStart(4)}  ${f3(s.accuracy)} [${f3(s.ci95[0])}, ${f3(s.ci95[1])}]`,
      );
    }
  }
  lines.push(`${summary.items_per_s.toFixed(2)} items/s, model ${summary.model}`);
  return lines.join('\n') + '\n';
}
