/**
 * The model card as an HTML page for clinicians and safety reviewers. Every piece of text is
 * escaped; the page has no script.
 */
import type { ModelManifest } from '../models/manifest.ts';
import { escapeHtml as h } from './markdown.ts';
import { performanceSections } from './performance-figures.ts';

function codesOf(f: ModelManifest['features'][number]): string {
  const refs = 'codes' in f ? f.codes : f.source === 'coded-flag' ? f.evidence.flatMap((e) => e.codes) : [];
  if (!refs.length) return f.source === 'age' ? 'Patient.birthDate' : f.source === 'patient-flag' ? `Patient: ${f.path}` : '';
  const shown = refs.slice(0, 8).map((c) => `${c.system.replace(/^https?:\/\//, '')} ${c.code}${c.prefix ? '*' : ''}`);
  return shown.join(', ') + (refs.length > 8 ? ` and ${refs.length - 8} more` : '');
}

function renderValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return h(Number.isInteger(v) ? String(v) : v.toFixed(3));
  if (typeof v === 'string' || typeof v === 'boolean') return h(String(v));
  if (Array.isArray(v)) return v.every((x) => typeof x !== 'object') ? h(v.join(', ')) : `<ul>${v.map((x) => `<li>${renderValue(x)}</li>`).join('')}</ul>`;
  return `<dl>${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `<dt>${h(k)}</dt><dd>${renderValue(x)}</dd>`)
    .join('')}</dl>`;
}

export function renderModelCardPage(m: ModelManifest, extraSections = ''): string {
  const card = m.modelCard;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model card: ${h(m.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
dt{font-weight:600}code{font-size:.9em}</style></head><body>
<h1>${h(m.name)}</h1>
<p>Model <code>${h(m.id)}</code>, version <strong>${h(m.version)}</strong>; ONNX sha256 <code>${h(m.onnx.sha256)}</code></p>
<h2>Outcome</h2><p>${h(m.outcome)}</p>
<h2>Intended use</h2><p>${h(card.intendedUse)}</p>
<h2>Population</h2><p>${h(card.population)}</p>
<h2>Exclusions</h2><ul>${card.exclusions.map((x) => `<li>${h(x)}</li>`).join('')}</ul>
<h2>Inputs</h2><table><thead><tr><th>Input</th><th>Unit</th><th>FHIR codes</th><th>When missing</th><th>Valid range</th></tr></thead><tbody>
${m.features
  .map(
    (f) =>
      `<tr><td>${h(f.label)}</td><td>${h(f.unit)}</td><td>${h(codesOf(f))}</td><td>${h(f.missing.policy === 'required' ? 'required: no score' : `imputed: ${f.missing.statement ?? String(f.missing.value)}`)}</td><td>${f.validRange ? h(`${f.validRange[0]}-${f.validRange[1]}`) : ''}</td></tr>`,
  )
  .join('\n')}
</tbody></table>
<h2>Risk categories</h2><ul>${m.categories.map((c) => `<li>${h(c.label)}${c.below !== undefined ? h(` (below ${(c.below * 100).toFixed(1)} %)`) : ''}: ${h(c.indicator)}</li>`).join('')}</ul>
${performanceSections(card.performance)}
<details><summary>All performance figures</summary>${renderValue(card.performance)}</details>
${extraSections}
<h2>Explanations</h2><p>Method: ${h(m.explanation.method)}. Contributions are measured from ${h(m.explanation.referenceDescription)}.</p>
<h2>Limitations</h2><ul>${card.limitations.map((x) => `<li>${h(x)}</li>`).join('')}</ul>
<h2>References</h2><ul>${card.references.map((x) => `<li>${h(x)}</li>`).join('')}</ul>
</body></html>`;
}
