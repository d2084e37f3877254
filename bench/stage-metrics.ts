/**
 * Per-stage latency as the service itself reports it on /metrics (prom-client histograms
 * riskcards_stage_duration_seconds{stage} and riskcards_service_duration_seconds). Two scrapes,
 * before and after a load run, are subtracted so each run is read on its own.
 */

export interface HistogramSeries {
  /** Labels other than `le`, as `k=v,k=v`. */
  labels: string;
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

export type Scrape = Map<string, HistogramSeries>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseHistograms(text: string, name: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m || !m[1]!.startsWith(name)) continue;
    const suffix = m[1]!.slice(name.length);
    if (suffix !== '_bucket' && suffix !== '_sum' && suffix !== '_count') continue;
    let le: number | undefined;
    const kept: string[] = [];
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) {
      if (k === 'le') le = v === '+Inf' ? Infinity : Number(v);
      else kept.push(`${k}=${v}`);
    }
    const labels = kept.join(',');
    let s = out.get(labels);
    if (!s) out.set(labels, (s = { labels, buckets: new Map(), sum: 0, count: 0 }));
    const value = Number(m[3]);
    if (suffix === '_bucket' && le !== undefined) s.buckets.set(le, value);
    else if (suffix === '_sum') s.sum = value;
    else if (suffix === '_count') s.count = value;
  }
  return out;
}

export function subtract(after: Scrape, before: Scrape): Scrape {
  const out: Scrape = new Map();
  for (const [labels, a] of after) {
    const b = before.get(labels);
    const buckets = new Map<number, number>();
    for (const [le, n] of a.buckets) buckets.set(le, n - (b?.buckets.get(le) ?? 0));
    out.set(labels, { labels, buckets, sum: a.sum - (b?.sum ?? 0), count: a.count - (b?.count ?? 0) });
  }
  return out;
}

/** Quantile by linear interpolation inside the bucket, as PromQL's histogram_quantile does. */
export function histogramQuantile(s: HistogramSeries, q: number): number {
  const bounds = [...s.buckets.keys()].sort((x, y) => x - y);
  const total = s.buckets.get(Infinity) ?? s.count;
  if (!total) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cum = s.buckets.get(le)!;
    if (cum >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(cum - below, 1e-12));
    }
    lower = le;
    below = cum;
  }
  return lower;
}

export interface StageRow {
  labels: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export function stageRows(diff: Scrape): StageRow[] {
  return [...diff.values()]
    .filter((s) => s.count > 0)
    .map((s) => ({ labels: s.labels, count: s.count, meanMs: (s.sum / s.count) * 1000, p50Ms: histogramQuantile(s, 0.5) * 1000, p99Ms: histogramQuantile(s, 0.99) * 1000 }));
}

export async function scrapeMetrics(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}
