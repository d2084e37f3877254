/**
 * Whether a model applies to a patient (age range, sex, exclusions such as prior ASCVD), and
 * which required inputs are missing. The sentences go on cards: no patient identifiers.
 */
import type { Input, InsufficientData } from '../domain.ts';
import type { ApplicabilitySpec, FeatureSpec } from './feature-spec.ts';
import { compileEvidence, findEvidence, type CompiledEvidence } from './evidence.ts';
import { ageInYears, type PatientRecord } from './extract.ts';
import { describeDuration } from './lookback.ts';

const compiledExclusions = new WeakMap<ApplicabilitySpec, { label: string; evidence: CompiledEvidence[] }[]>();

export type Applicability = { applicable: true } | { applicable: false; reasons: string[] };

export function checkApplicability(spec: ApplicabilitySpec, record: PatientRecord, inputs: readonly Input[], now: Date): Applicability {
  const reasons: string[] = [];
  if (spec.ageRange) {
    const age = inputs.find((i) => i.feature === 'age')?.value ?? (record.patient.birthDate ? ageInYears(record.patient.birthDate, now) : undefined);
    const [lo, hi] = spec.ageRange;
    if (age === undefined || age === null) reasons.push(`The patient's age is unknown; the model is for ages ${lo}-${hi}.`);
    else if (age < lo || age > hi) reasons.push(`Age ${age} is outside the model's range of ${lo}-${hi} years.`);
  }
  if (spec.sex) {
    const g = record.patient.gender;
    if (!g || !spec.sex.includes(g as 'female' | 'male')) reasons.push(`The model was developed for ${spec.sex.join(' and ')} patients only${g ? '' : ', and the patient\'s sex is not recorded'}.`);
  }
  let exclusions = compiledExclusions.get(spec);
  if (!exclusions) {
    exclusions = (spec.exclusions ?? []).map((x) => ({ label: x.label, evidence: x.evidence.map(compileEvidence) }));
    compiledExclusions.set(spec, exclusions);
  }
  for (const x of exclusions) {
    const items = x.evidence.flatMap((e) => findEvidence(e, record.resources, now)).filter((i) => i.value === 1);
    if (!items.length) continue;
    const shown = [...new Map(items.map((i) => [i.display ?? 'recorded diagnosis', i])).values()]
      .slice(0, 3)
      .map((i) => `${i.display ?? 'recorded diagnosis'}${i.date ? ` (${i.date.slice(0, 4)})` : ''}`);
    reasons.push(`${x.label} on record: ${shown.join('; ')}.`);
  }
  return reasons.length ? { applicable: false, reasons } : { applicable: true };
}

/** Required inputs without a value, with what would satisfy them and a test to order. */
export function missingRequired(specs: readonly FeatureSpec[], inputs: readonly Input[]): InsufficientData['missing'] {
  const out: InsufficientData['missing'] = [];
  specs.forEach((spec, i) => {
    const input = inputs[i];
    if (spec.missing.policy !== 'required' || !input || input.value !== null) return;
    const requirement = spec.source === 'observation-quantity' ? `needs a result from the last ${describeDuration(spec.lookback)}` : 'must be recorded';
    const order = spec.missing.order;
    out.push({
      feature: spec.id,
      label: spec.label,
      requirement: input.quality.find((q) => q.flag === 'missing')?.message ? `${requirement} (${input.quality.find((q) => q.flag === 'missing')!.message})` : requirement,
      ...(order ? { orderCode: { system: order.system, code: order.code, display: order.display ?? order.code } } : {}),
    });
  });
  return out;
}
