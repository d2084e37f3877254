/**
 * The page behind a card's "Full explanation" link: every input with its provenance, every
 * contribution, what would change the risk. All text is escaped; the page has no script.
 */
import type { Explanation, Prediction } from '../domain.ts';
import { escapeHtml as h } from './markdown.ts';
import { formatInputValue, formatPercent } from './render-card.ts';

export interface StoredExplanation {
  serviceId: string;
  cardUuid: string;
  prediction: Prediction;
  explanation: Explanation;
  createdAt: string;
}

function bar(contribution: number, maxAbs: number): string {
  const width = maxAbs > 0 ? Math.round((Math.abs(contribution) / maxAbs) * 200) : 0;
  const color = contribution >= 0 ? '#c0392b' : '#27ae60';
  return `<svg width="210" height="14" role="img" aria-label="${h((contribution * 100).toFixed(2))} percentage points"><rect x="0" y="2" width="${width}" height="10" fill="${color}"/></svg>`;
}

export function renderExplanationPage(e: StoredExplanation): string {
  const p = e.prediction;
  const x = e.explanation;
  const byFeature = new Map(x.contributions.map((c) => [c.feature, c.contribution]));
  const maxAbs = Math.max(0, ...x.contributions.map((c) => Math.abs(c.contribution)));
  const rows = p.inputs
    .map((i) => {
      const c = byFeature.get(i.feature) ?? 0;
      const sources = i.sources.length
        ? i.sources.map((s) => `${h(s.reference)}${s.effectiveDate ? ` (${h(s.effectiveDate.slice(0, 10))})` : ''}${s.originalValue !== undefined ? `: ${h(String(s.originalValue))} ${h(s.originalUnit ?? '')}` : ''}`).join('<br>')
        : 'derived or imputed';
      const notes = i.quality.map((q) => h(q.message)).join('<br>');
      return `<tr><td>${h(i.label)}</td><td>${h(formatInputValue(i))}</td><td>${sources}</td><td>${(c * 100 >= 0 ? '+' : '') + h((c * 100).toFixed(2))} pp ${bar(c, maxAbs)}</td><td>${notes}</td></tr>`;
    })
    .join('\n');
  const whatIf = x.whatIf.map((w) => `<li>${h(w.label)}: ${h(formatPercent(w.risk))}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Explanation of a risk estimate</title>
<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}</style></head><body>
<h1>${h(formatPercent(p.risk))}: ${h(p.category.label)}</h1>
<p>Model <code>${h(p.modelId)}</code> version ${h(p.modelVersion)}; computed ${h(e.createdAt)}; card ${h(e.cardUuid)}.</p>
<p>Method: ${h(x.method)}. Reference: ${h(x.referenceDescription)}, risk ${h(formatPercent(x.referenceRisk))}. The contributions add up to ${h(((p.risk - x.referenceRisk) * 100).toFixed(2))} percentage points.</p>
<table><thead><tr><th>Input</th><th>Value</th><th>Source (date: value as recorded)</th><th>Contribution</th><th>Notes</th></tr></thead><tbody>
${rows}
</tbody></table>
${whatIf ? `<h2>What would change it</h2><ul>${whatIf}</ul>` : ''}
<p><a href="../models/${encodeURIComponent(p.modelId)}/card">Model card</a></p>
</body></html>`;
}
