/**
 * Population stability index (PSI) of live inputs against a training distribution:
 * PSI = sum over bins of (live_i - train_i) * ln(live_i / train_i), proportions floored at a small
 * epsilon so empty bins do not give infinities. Rule of thumb (Siddiqi, Credit Risk Scorecards,
 * 2006): < 0.1 stable, 0.1-0.25 some shift, > 0.25 a major shift.
 */

export interface FeatureDistribution {
  /** Inner bin edges, ascending: k edges make k+1 bins (-inf, e0), [e0, e1), ..., [e_{k-1}, +inf). */
  edges: number[];
  /** Training proportion per bin (k+1 values summing to 1). */
  proportions: number[];
}

const EPS = 1e-4;

export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function populationStabilityIndex(train: FeatureDistribution, live: readonly number[]): number {
  if (live.length === 0) return 0;
  const counts = new Array<number>(train.edges.length + 1).fill(0);
  for (const x of live) counts[binIndex(train.edges, x)]!++;
  let psi = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = Math.max(counts[i]! / live.length, EPS);
    const q = Math.max(train.proportions[i] ?? 0, EPS);
    psi += (p - q) * Math.log(p / q);
  }
  return psi;
}
