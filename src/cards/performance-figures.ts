/**
 * Figures for the model card page, drawn as inline SVG from the performance numbers a training
 * pipeline writes into the manifest (modelCard.performance.heldOut / .subgroups): a calibration
 * (reliability) plot and a subgroup table. No script; every label is escaped.
 */
import { escapeHtml as h } from './markdown.ts';

interface Bin { meanPredicted: number; observedRate: number; n: number }
interface Metrics {
  n?: number;
  events?: number;
  auroc?: { estimate: number; ci95?: [number, number] } | number;
  calibration?: { slope?: number; intercept?: number };
  brier?: number;
  reliabilityBins?: Bin[];
}

const fmt = (v: number | undefined, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');

function auroc(m: Metrics): string {
  if (typeof m.auroc === 'number') return fmt(m.auroc);
  if (!m.auroc) return '—';
  return `${fmt(m.auroc.estimate)}${m.auroc.ci95 ? ` (95 % CI ${fmt(m.auroc.ci95[0])}–${fmt(m.auroc.ci95[1])})` : ''}`;
}

/** Observed event rate against mean predicted risk per bin, with the diagonal of perfect calibration. */
export function calibrationPlotSvg(bins: Bin[], title: string): string {
  const size = 320;
  const pad = 40;
  const span = size - 2 * pad;
  const x = (p: number) => pad + p * span;
  const y = (p: number) => size - pad - p * span;
  const maxN = Math.max(1, ...bins.map((b) => b.n));
  const points = bins
    .map((b) => `<circle cx="${x(b.meanPredicted).toFixed(1)}" cy="${y(b.observedRate).toFixed(1)}" r="${(3 + 6 * Math.sqrt(b.n / maxN)).toFixed(1)}" fill="#1f5fa8" fill-opacity="0.7"><title>${h(`predicted ${(b.meanPredicted * 100).toFixed(1)} %, observed ${(b.observedRate * 100).toFixed(1)} %, n ${b.n}`)}</title></circle>`)
    .join('');
  const line = bins.map((b, i) => `${i ? 'L' : 'M'}${x(b.meanPredicted).toFixed(1)},${y(b.observedRate).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<text x="${x(t)}" y="${size - pad + 16}" text-anchor="middle" font-size="10">${t * 100}%</text><text x="${pad - 6}" y="${y(t) + 3}" text-anchor="end" font-size="10">${t * 100}%</text>`)
    .join('');
  return `<svg class="calibration-plot" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="${h(title)}">
<rect x="${pad}" y="${pad}" width="${span}" height="${span}" fill="none" stroke="#999"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/>
<path d="${line}" fill="none" stroke="#1f5fa8"/>${points}${ticks}
<text x="${size / 2}" y="${size - 6}" text-anchor="middle" font-size="11">mean predicted risk</text>
<text x="12" y="${size / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${size / 2})">observed rate</text>
<text x="${size / 2}" y="16" text-anchor="middle" font-size="12">${h(title)}</text></svg>`;
}

export function performanceSections(performance: Record<string, unknown>): string {
  const heldOut = performance.heldOut as Metrics | undefined;
  const subgroups = performance.subgroups as Record<string, Metrics> | undefined;
  if (!heldOut) return '';
  const rows = [['All (held out)', heldOut] as const, ...Object.entries(subgroups ?? {})]
    .map(([name, m]) => `<tr><td>${h(name)}</td><td>${h(String(m.n ?? '—'))}</td><td>${h(String(m.events ?? '—'))}</td><td>${h(auroc(m))}</td><td>${h(fmt(m.calibration?.slope, 2))}</td><td>${h(fmt(m.calibration?.intercept, 2))}</td><td>${h(fmt(m.brier))}</td></tr>`)
    .join('\n');
  return `<h2>Held-out performance</h2>
<p>AUROC ${h(auroc(heldOut))}; calibration slope ${h(fmt(heldOut.calibration?.slope, 2))}, intercept ${h(fmt(heldOut.calibration?.intercept, 2))}; Brier score ${h(fmt(heldOut.brier))} (n ${h(String(heldOut.n ?? '—'))}, events ${h(String(heldOut.events ?? '—'))}).</p>
${heldOut.reliabilityBins?.length ? calibrationPlotSvg(heldOut.reliabilityBins, 'Calibration on the held-out set') : ''}
<h2>Performance by subgroup</h2>
<table class="subgroups"><thead><tr><th>Group</th><th>n</th><th>Events</th><th>AUROC</th><th>Calibration slope</th><th>Calibration intercept</th><th>Brier</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}
