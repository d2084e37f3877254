/**
 * Turns predictions, explanations and "cannot score" outcomes into CDS Hooks 2.0 cards.
 * Card rules (https://cds-hooks.hl7.org/2.0/#card-attributes): summary < 140 characters; indicator
 * info|warning|critical; source.label (+ url to the model card, not a drill-down); a uuid on
 * every card; detail in GitHub-flavoured markdown with no raw HTML; drill-down in `links`;
 * overrideReasons with a display; suggestions only with selectionBehavior. No JSON element is
 * null or empty (spec §Use of JSON).
 */
import { randomUUID } from 'node:crypto';
import type { Explanation, Input, InsufficientData, Prediction } from '../domain.ts';
import type { ModelManifest } from '../models/manifest.ts';
import type { Card, Coding, Link, PredictionExtension, Suggestion } from './card.ts';
import { PREDICTION_EXTENSION } from './card.ts';
import { escapeMarkdown, markdownTable } from './markdown.ts';

export interface CardContext {
  manifest: ModelManifest;
  /** Our public base URL (links only ever point here or to configured origins). */
  publicUrl: string;
  uuid: string;
  topFactors: number;
}

/** Override reasons offered on every risk card; codes are ours, displays are for clinicians. */
export const OVERRIDE_REASON_SYSTEM = 'urn:riskcards:override-reason';
export const OVERRIDE_REASONS: Coding[] = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'already-addressed', display: 'Risk already discussed and addressed' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'inputs-wrong', display: 'Inputs are out of date or wrong' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-applicable', display: 'Model does not apply to this patient' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'patient-declined', display: 'Patient declined discussion' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-now', display: 'Not relevant to this visit' },
];

const SUMMARY_MAX = 139;
const UNIT_DISPLAY: Record<string, string> = { 'mm[Hg]': 'mm Hg', a: 'years', 'kg/m2': 'kg/m²', '1': '' };

export function formatPercent(risk: number): string {
  const pct = risk * 100;
  return `${pct < 1 ? pct.toFixed(2) : pct.toFixed(1)} %`;
}

function formatPoints(delta: number): string {
  const pp = delta * 100;
  const s = Math.abs(pp) < 0.05 ? pp.toFixed(2) : pp.toFixed(1);
  return `${pp >= 0 ? '+' : '−'}${s.replace('-', '')} pp`;
}

function unitDisplay(unit: string): string {
  return UNIT_DISPLAY[unit] ?? unit;
}

export function formatInputValue(input: Input): string {
  if (input.value === null) return 'missing';
  if (input.display) return input.display;
  if (input.unit === '1') return input.value === 1 ? 'Yes' : input.value === 0 ? 'No' : String(input.value);
  const v = Number.isInteger(input.value) ? String(input.value) : input.value.toFixed(1);
  const u = unitDisplay(input.unit);
  return u ? `${v} ${u}` : v;
}

function clampSummary(text: string): string {
  return text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`;
}

function riskLabel(m: ModelManifest): string {
  return m.riskLabel ?? `${m.horizonYears ? `${m.horizonYears}-year ` : ''}${m.name} risk`;
}

function source(ctx: CardContext): Card['source'] {
  const m = ctx.manifest;
  return {
    label: `RiskCards: ${m.name}`,
    url: `${ctx.publicUrl}/models/${encodeURIComponent(m.id)}/card`,
    topic: { system: 'urn:riskcards:model', code: m.id, display: m.name },
  };
}

function modelCardLink(ctx: CardContext): Link {
  return { label: `Model card: ${ctx.manifest.name} ${ctx.manifest.version}`, url: `${ctx.publicUrl}/models/${encodeURIComponent(ctx.manifest.id)}/card`, type: 'absolute' };
}

function qualityLines(inputs: Input[]): string[] {
  const lines: string[] = [];
  for (const i of inputs) for (const q of i.quality) if (q.flag !== 'missing') lines.push(`- ${escapeMarkdown(q.message)}`);
  return lines;
}

function inputExtension(inputs: Input[]): PredictionExtension['inputs'] {
  return inputs.map((i) => ({
    feature: i.feature,
    label: i.label,
    ...(i.value !== null && Number.isFinite(i.value) ? { value: i.value } : {}),
    unit: i.unit,
    ...(i.effectiveDate ? { effectiveDate: i.effectiveDate } : {}),
    ...(i.sources[0] ? { source: i.sources[0].reference } : {}),
    ...(i.quality.length ? { quality: i.quality.map((q) => q.flag) } : {}),
  }));
}

export function renderRiskCard(
  ctx: CardContext,
  prediction: Prediction,
  explanation: Explanation,
  explanationUrl?: string,
): Card {
  const m = ctx.manifest;
  const cat = prediction.category;
  const summary = clampSummary(`${riskLabel(m)} ${formatPercent(prediction.risk)} (${cat.label})`);

  const byFeature = new Map(prediction.inputs.map((i) => [i.feature, i]));
  // Inputs held at the patient's own value contribute nothing by construction: said once below, not listed.
  const ranked = [...explanation.contributions]
    .filter((c) => !(c.contribution === 0 && m.explanation.reference[c.feature] === 'patient'))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const shown = ranked.slice(0, ctx.topFactors);
  const rows = shown.map((c) => {
    const input = byFeature.get(c.feature);
    return [
      escapeMarkdown(input?.label ?? c.feature),
      escapeMarkdown(input ? formatInputValue(input) : ''),
      escapeMarkdown(input?.effectiveDate?.slice(0, 10) ?? '—'),
      escapeMarkdown(formatPoints(c.contribution)),
    ];
  });
  const held = prediction.inputs.filter((i) => explanation.contributions.every((c) => c.feature !== i.feature || c.contribution === 0) && m.explanation.reference[i.feature] === 'patient');

  const parts: string[] = [];
  parts.push(`**${escapeMarkdown(riskLabel(m))}: ${escapeMarkdown(formatPercent(prediction.risk))}**, category *${escapeMarkdown(cat.label)}*.`);
  parts.push(escapeMarkdown(`Outcome: ${m.outcome}.`));
  parts.push(markdownTable(['Factor', 'Value', 'Date', 'Contribution'], rows));
  parts.push(
    escapeMarkdown(
      `Contributions are exact Shapley values in percentage points (pp) relative to ${explanation.referenceDescription}, whose risk is ${formatPercent(explanation.referenceRisk)}; they add up to the difference.`,
    ) + (held.length ? ' ' + escapeMarkdown(`Held at the patient's own values: ${held.map((i) => `${i.label} ${formatInputValue(i)}`).join(', ')}.`) : ''),
  );
  const quality = qualityLines(prediction.inputs);
  if (quality.length) parts.push(`**Data quality**\n\n${quality.join('\n')}`);
  if (explanation.whatIf.length) {
    parts.push(
      `**What would change it**\n\n${explanation.whatIf
        .map((w) => `- ${escapeMarkdown(w.label)}: ${escapeMarkdown(formatPercent(w.risk))} (${escapeMarkdown(formatPoints(w.risk - prediction.risk))})`)
        .join('\n')}`,
    );
  }
  parts.push(escapeMarkdown(`Model: ${m.name}, version ${m.version}. Intended use: ${m.modelCard.intendedUse}`));

  const links: Link[] = [];
  if (explanationUrl) links.push({ label: 'Full explanation of this estimate', url: explanationUrl, type: 'absolute' });
  links.push(modelCardLink(ctx));

  const extension: PredictionExtension = {
    modelId: prediction.modelId,
    modelVersion: prediction.modelVersion,
    risk: prediction.risk,
    referenceRisk: explanation.referenceRisk,
    category: cat.code,
    inputs: inputExtension(prediction.inputs),
    contributions: explanation.contributions.map((c) => ({ feature: c.feature, contribution: c.contribution })),
    ...(explanation.whatIf.length ? { whatIf: explanation.whatIf.map((w) => ({ label: w.label, risk: w.risk })) } : {}),
  };

  return {
    uuid: ctx.uuid,
    summary,
    indicator: cat.indicator,
    detail: parts.join('\n\n'),
    source: source(ctx),
    overrideReasons: OVERRIDE_REASONS,
    links,
    extension: { [PREDICTION_EXTENSION]: extension },
  };
}

export function renderNotApplicableCard(ctx: CardContext, reasons: string[]): Card {
  const m = ctx.manifest;
  return {
    uuid: ctx.uuid,
    summary: clampSummary(`${m.name}: not applicable to this patient`),
    indicator: 'info',
    detail: [
      escapeMarkdown(`No ${riskLabel(m)} is shown because the model does not apply:`),
      reasons.map((r) => `- ${escapeMarkdown(r)}`).join('\n'),
      escapeMarkdown(`Intended use: ${m.modelCard.intendedUse}`),
    ].join('\n\n'),
    source: source(ctx),
    links: [modelCardLink(ctx)],
  };
}

export function renderInsufficientDataCard(ctx: CardContext, data: InsufficientData, patientId: string): Card {
  const m = ctx.manifest;
  const names = data.missing.map((x) => x.label).join(', ');
  const detail = [
    escapeMarkdown(`No ${riskLabel(m)} can be estimated: required inputs are missing. The service does not guess them.`),
    data.missing.map((x) => `- ${escapeMarkdown(`${x.label}: ${x.requirement}`)}`).join('\n'),
  ];
  const present = data.inputs.filter((i) => i.value !== null);
  if (present.length) {
    detail.push(
      `**Inputs found**\n\n${markdownTable(
        ['Input', 'Value', 'Date'],
        present.map((i) => [escapeMarkdown(i.label), escapeMarkdown(formatInputValue(i)), escapeMarkdown(i.effectiveDate?.slice(0, 10) ?? '—')]),
      )}`,
    );
  }
  const suggestions = orderSuggestions(data, patientId);
  return {
    uuid: ctx.uuid,
    summary: clampSummary(`${riskLabel(m)} not available: missing ${names}`),
    indicator: 'warning',
    detail: detail.join('\n\n'),
    source: source(ctx),
    ...(suggestions.length ? { suggestions, selectionBehavior: 'any' as const } : {}),
    overrideReasons: OVERRIDE_REASONS,
    links: [modelCardLink(ctx)],
  };
}

/** One order suggestion per distinct test that would supply a missing input (CDS Hooks 2.0 §Suggestion, §Action). */
function orderSuggestions(data: InsufficientData, patientId: string): Suggestion[] {
  const seen = new Map<string, Suggestion>();
  for (const miss of data.missing) {
    const order = miss.orderCode;
    if (!order) continue;
    const key = `${order.system}|${order.code}`;
    if (seen.has(key)) continue;
    seen.set(key, {
      label: `Order ${order.display}`,
      uuid: randomUUID(),
      isRecommended: true,
      actions: [
        {
          type: 'create',
          description: `Order ${order.display} (${order.code})`,
          resource: {
            resourceType: 'ServiceRequest',
            status: 'draft',
            intent: 'proposal',
            code: { coding: [{ system: order.system, code: order.code, display: order.display }], text: order.display },
            subject: { reference: `Patient/${patientId}` },
          },
        },
      ],
    });
  }
  return [...seen.values()];
}

interface ExplainedPrediction {
  manifest: ModelManifest;
  prediction: Prediction;
  explanation: Explanation;
}

/** The part of each risk label that differs between models ("total CVD" of "10-year total CVD risk (PREVENT)"). */
function labelParts(labels: string[]): { common: string; parts: string[] } {
  let pre = labels[0]!;
  let suf = labels[0]!;
  for (const l of labels) {
    while (!l.startsWith(pre)) pre = pre.slice(0, -1);
    while (!l.endsWith(suf)) suf = suf.slice(1);
  }
  pre = pre.slice(0, pre.lastIndexOf(' ') + 1);
  suf = suf.slice(suf.indexOf(' '));
  return { common: `${pre}${suf.trim()}`, parts: labels.map((l) => l.slice(pre.length, l.length - suf.length).trim()) };
}

function predictionExtension(p: Prediction, e: Explanation): PredictionExtension {
  return {
    modelId: p.modelId,
    modelVersion: p.modelVersion,
    risk: p.risk,
    referenceRisk: e.referenceRisk,
    category: p.category.code,
    inputs: inputExtension(p.inputs),
    contributions: e.contributions.map((c) => ({ feature: c.feature, contribution: c.contribution })),
    ...(e.whatIf.length ? { whatIf: e.whatIf.map((w) => ({ label: w.label, risk: w.risk })) } : {}),
  };
}

/**
 * Several related models on one card (e.g. the PREVENT equations for total CVD, ASCVD and heart
 * failure): one risk line per model, one factor table with a contribution column per model, the
 * primary model's category setting the indicator.
 */
export function renderCombinedRiskCard(ctx: CardContext, title: string, all: ExplainedPrediction[], explanationUrl?: string): Card {
  const primary = all[0]!;
  const { common, parts } = labelParts(all.map((x) => riskLabel(x.manifest)));
  const summary = clampSummary(`${common}: ${all.map((x, i) => `${parts[i]} ${formatPercent(x.prediction.risk)}`).join(', ')} (${primary.prediction.category.label})`);
  const inputs = primary.prediction.inputs;
  const byFeature = new Map(inputs.map((i) => [i.feature, i]));
  const contribution = all.map((x) => new Map(x.explanation.contributions.map((c) => [c.feature, c.contribution])));
  const ranked = [...byFeature.keys()]
    .map((f) => ({ f, w: Math.max(...contribution.map((c) => Math.abs(c.get(f) ?? 0))) }))
    .filter((x) => x.w > 0)
    .sort((a, b) => b.w - a.w)
    .slice(0, ctx.topFactors);

  const detail: string[] = [];
  detail.push(
    markdownTable(
      ['Outcome', 'Risk', 'Category', 'Reference risk'],
      all.map((x, i) => [escapeMarkdown(parts[i] || x.manifest.name), escapeMarkdown(formatPercent(x.prediction.risk)), escapeMarkdown(x.prediction.category.label), escapeMarkdown(formatPercent(x.explanation.referenceRisk))]),
    ),
  );
  detail.push(
    markdownTable(
      ['Factor', 'Value', 'Date', ...parts.map((p) => escapeMarkdown(p || 'risk'))],
      ranked.map(({ f }) => {
        const i = byFeature.get(f)!;
        return [escapeMarkdown(i.label), escapeMarkdown(formatInputValue(i)), escapeMarkdown(i.effectiveDate?.slice(0, 10) ?? '—'), ...contribution.map((c) => (c.has(f) && c.get(f) !== 0 ? escapeMarkdown(formatPoints(c.get(f)!)) : '—'))];
      }),
    ),
  );
  detail.push(escapeMarkdown(`Contributions are exact Shapley values in percentage points (pp) relative to ${primary.explanation.referenceDescription}; for each outcome they add up to its risk minus its reference risk.`));
  const quality = qualityLines(inputs);
  if (quality.length) detail.push(`**Data quality**\n\n${quality.join('\n')}`);
  const scenarios = [...new Set(all.flatMap((x) => x.explanation.whatIf.map((w) => w.label)))];
  if (scenarios.length) {
    detail.push(
      `**What would change it**\n\n${scenarios
        .map((label) => `- ${escapeMarkdown(label)}: ${all.map((x, i) => {
          const w = x.explanation.whatIf.find((y) => y.label === label);
          return w ? escapeMarkdown(`${parts[i]} ${formatPercent(w.risk)}`) : null;
        }).filter(Boolean).join(', ')}`)
        .join('\n')}`,
    );
  }
  detail.push(escapeMarkdown(`${title}. Models: ${all.map((x) => `${x.manifest.name} ${x.manifest.version}`).join('; ')}. Intended use: ${primary.manifest.modelCard.intendedUse}`));

  const links: Link[] = [];
  if (explanationUrl) links.push({ label: 'Full explanation of this estimate', url: explanationUrl, type: 'absolute' });
  for (const x of all) links.push({ label: `Model card: ${x.manifest.name} ${x.manifest.version}`, url: `${ctx.publicUrl}/models/${encodeURIComponent(x.manifest.id)}/card`, type: 'absolute' });

  return {
    uuid: ctx.uuid,
    summary,
    indicator: primary.prediction.category.indicator,
    detail: detail.join('\n\n'),
    source: source(ctx),
    overrideReasons: OVERRIDE_REASONS,
    links,
    extension: {
      [PREDICTION_EXTENSION]: predictionExtension(primary.prediction, primary.explanation),
      'riskcards.predictions': all.map((x) => predictionExtension(x.prediction, x.explanation)),
    },
  };
}
