/** Summary statistics for timing samples (milliseconds). Nearest-rank quantiles on a sorted copy. */

export interface TimingSummary {
  n: number;
  median: number;
  p99: number;
  mean: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: readonly number[]): TimingSummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(sorted.length, 1);
  return { n: sorted.length, median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean };
}
