/**
 * FHIR record -> model inputs, driven by the declarative feature specs of a model package.
 * Each input keeps its provenance (source resources, dates, values and units as recorded) and its
 * quality notes (missing, imputed, stale, converted, out of range, implausible, conflicting). Specs
 * are compiled once (FHIRPath, code sets); extraction itself is a pass over the resources.
 */
import type { Observation, Patient, Resource } from 'fhir/r4.js';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { compileFhirPathSubset } from './fhirpath-subset.ts';
import type { Input, Provenance, QualityNote } from '../domain.ts';
import type { CodedFlagFeature, FeatureSpec, ObservationQuantityFeature, PatientFlagFeature } from './feature-spec.ts';
import { formulaFor, type Formula, type FormulaValue } from './formulas.ts';
import { codeMatcher } from './feature-codes.ts';
import { compileEvidence, findEvidence, USABLE_OBSERVATION_STATUS, type CompiledEvidence, type EvidenceItem } from './evidence.ts';
import { describeDuration, subtractDuration } from './lookback.ts';
import { convertUnit, normaliseUnit } from './units.ts';

export interface PatientRecord {
  patient: Patient;
  resources: readonly Resource[];
}

type PathFn = (resource: unknown) => unknown[];
type Concept = { coding?: { system?: string; code?: string }[] } | undefined;

interface CompiledQuantity {
  spec: ObservationQuantityFeature;
  matches: (c: Concept) => boolean;
  value: PathFn;
  panels: { matches: (c: Concept) => boolean; value: PathFn }[];
  fallback?: { formula: Formula; observations: { arg: string; q: CompiledQuantity }[] };
}

type Compiled =
  | { kind: 'age'; spec: FeatureSpec }
  | { kind: 'patient-flag'; spec: PatientFlagFeature; path: PathFn }
  | { kind: 'quantity'; q: CompiledQuantity }
  | { kind: 'coded-flag'; spec: CodedFlagFeature; evidence: CompiledEvidence[] };

const compiledCache = new WeakMap<readonly FeatureSpec[], Compiled[]>();

function compilePath(expr: string): PathFn {
  // The subset evaluator walks the plain JSON (a fraction of fhirpath.js's cost per resource);
  // fhirpath.js takes whatever the subset does not cover. Both are compiled once per spec.
  const fn = compileFhirPathSubset(expr) ?? (fhirpath.compile(expr, r4 as never) as unknown as (r: unknown) => unknown[]);
  return (r) => {
    try {
      return fn(r);
    } catch {
      // A resource whose shape the path cannot walk simply yields no value.
      return [];
    }
  };
}

/** Prepares specs once (FHIRPath compiled, code sets indexed); extractInputs calls it and caches. */
export function compileFeatureSpecs(specs: readonly FeatureSpec[]): Compiled[] {
  let c = compiledCache.get(specs);
  if (c) return c;
  c = specs.map((spec): Compiled => {
    switch (spec.source) {
      case 'age':
        return { kind: 'age', spec };
      case 'patient-flag':
        return { kind: 'patient-flag', spec, path: compilePath(spec.path) };
      case 'observation-quantity':
        return {
          kind: 'quantity',
          q: {
            spec,
            matches: codeMatcher(spec.codes),
            value: compilePath(spec.valuePath ?? 'value'),
            panels: (spec.panels ?? []).map((p) => ({ matches: codeMatcher(p.codes), value: compilePath(p.valuePath) })),
            ...(spec.fallback ? { fallback: compileFallback(spec) } : {}),
          },
        };
      case 'coded-flag':
        return { kind: 'coded-flag', spec, evidence: spec.evidence.map(compileEvidence) };
    }
  });
  compiledCache.set(specs, c);
  return c;
}

/** A formula fallback's Observations become plain "latest" quantities, read like any feature's. */
function compileFallback(spec: ObservationQuantityFeature): NonNullable<CompiledQuantity['fallback']> {
  const fb = spec.fallback!;
  const formula = formulaFor(fb.formula);
  if (!formula) throw new Error(`Feature "${spec.id}" falls back on the formula "${fb.formula}", which src/features/formulas.ts does not define.`);
  return {
    formula,
    observations: Object.entries(fb.observations).map(([arg, o]) => {
      const qspec: ObservationQuantityFeature = {
        id: `${spec.id}.${arg}`,
        label: o.label,
        unit: o.unit,
        source: 'observation-quantity',
        codes: o.codes,
        lookback: o.lookback,
        aggregation: 'latest',
        missing: { policy: 'required' },
        ...(o.molarMass !== undefined ? { molarMass: o.molarMass } : {}),
        ...(o.plausible ? { plausible: o.plausible } : {}),
      };
      return { arg, q: { spec: qspec, matches: codeMatcher(o.codes), value: compilePath('value'), panels: [] } };
    }),
  };
}

/** Whole years between a FHIR birthDate (YYYY, YYYY-MM or YYYY-MM-DD) and `now`. */
export function ageInYears(birthDate: string, now: Date): number | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = m[2] ? Number(m[2]) : 7; // partial date: mid-year / mid-month
  const d = m[3] ? Number(m[3]) : 15;
  let age = now.getUTCFullYear() - y;
  if (now.getUTCMonth() + 1 < mo || (now.getUTCMonth() + 1 === mo && now.getUTCDate() < d)) age--;
  return age >= 0 && age < 150 ? age : undefined;
}

function flagDisplay(v: number): string {
  return v === 1 ? 'Yes' : v === 0 ? 'No' : String(v);
}

function rangeNotes(spec: FeatureSpec, value: number): QualityNote[] {
  if (!spec.validRange || !Number.isFinite(value)) return [];
  const [lo, hi] = spec.validRange;
  if (value >= lo && value <= hi) return [];
  return [{ flag: 'out-of-range', message: `${spec.label} ${round(value)} ${displayUnit(spec.unit)} is outside the model's validated range of ${lo}-${hi}; the estimate uses it as recorded and may be less reliable.` }];
}

function displayUnit(unit: string): string {
  return ({ 'mm[Hg]': 'mm Hg', a: 'years', '1': '', 'mL/min/{1.73_m2}': 'mL/min/1.73 m²' } as Record<string, string>)[unit] ?? unit;
}

/** At most one decimal, no trailing ".0": "48", "117.5". */
function round(v: number): string {
  return String(Number(v.toFixed(1)));
}

function quantityDisplay(v: number, unit: string): string {
  const u = displayUnit(unit);
  return u ? `${round(v)} ${u}` : round(v);
}

/** Applies the missing-value policy to an input that has no usable value. */
function missingInput(spec: FeatureSpec, base: Omit<Input, 'value' | 'quality'>, quality: QualityNote[], why: string): Input {
  if (spec.missing.policy === 'impute') {
    const value = spec.missing.value ?? Number.NaN;
    const statement = spec.missing.statement ?? (Number.isNaN(value) ? `${spec.label} is not recorded; the model handles it as missing.` : `${spec.label} is not recorded; assumed ${flagOrValue(spec, value)}.`);
    const display = Number.isNaN(value) ? 'not recorded' : spec.unit === '1' ? flagDisplay(value) : quantityDisplay(value, spec.unit);
    return { ...base, value, display, quality: [...quality, { flag: 'imputed', message: statement }] };
  }
  return { ...base, value: null, quality: [...quality, { flag: 'missing', message: why }] };
}

function flagOrValue(spec: FeatureSpec, v: number): string {
  return spec.unit === '1' ? (v === 1 ? 'yes' : 'no') : `${round(v)} ${displayUnit(spec.unit)}`;
}

interface Candidate {
  value: number;
  date: string;
  provenance: Provenance;
  converted: boolean;
}

/** How many distinct results the aggregation reads (Infinity: all in the lookback window). */
function resultsNeeded(spec: ObservationQuantityFeature): number {
  return spec.aggregation === 'latest' ? 1 : (spec.aggregateCount ?? Number.POSITIVE_INFINITY);
}

/**
 * The usable results of one quantity feature, newest first. Observations are filtered by status,
 * code and date first and read newest first, so the FHIRPath value paths (the costly part) run
 * only on the few results the aggregation uses; implausible or unconvertible results met on the
 * way are counted and skipped, and the next older result is used instead.
 */
function quantityCandidates(q: CompiledQuantity, resources: readonly Resource[], since: number, now: number): { candidates: Candidate[]; implausible: number; unconvertible: number } {
  const spec = q.spec;
  const matched: { o: Observation; date: string; time: number; value: PathFn }[] = [];
  for (const res of resources) {
    if (res.resourceType !== 'Observation') continue;
    const o = res as Observation;
    if (!USABLE_OBSERVATION_STATUS.has(o.status)) continue;
    const value = q.matches(o.code as Concept) ? q.value : q.panels.find((p) => p.matches(o.code as Concept))?.value;
    if (!value) continue;
    const date = o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued;
    if (typeof date !== 'string') continue;
    const time = Date.parse(date);
    if (!(time >= since && time <= now)) continue;
    matched.push({ o, date, time, value });
  }
  matched.sort((a, b) => b.time - a.time);

  const needed = resultsNeeded(spec);
  const candidates: Candidate[] = [];
  let implausible = 0;
  let unconvertible = 0;
  const seen = new Set<string>();
  for (const { o, date, time, value } of matched) {
    if (candidates.length >= needed) break;
    for (const v of value(o)) {
      const qty = v as { value?: unknown; code?: unknown; unit?: unknown } | number;
      const raw = typeof qty === 'number' ? qty : qty?.value;
      if (typeof raw !== 'number' || !Number.isFinite(raw)) continue;
      // A bare number or a Quantity without a unit is read as the canonical unit; plausibility
      // limits catch a value that was in fact in another unit (5 for cholesterol in mmol/L).
      const unit = typeof qty === 'number' ? spec.unit : typeof qty.code === 'string' ? qty.code : typeof qty.unit === 'string' ? qty.unit : spec.unit;
      const converted = convertUnit(raw, unit, spec.unit, spec.molarMass);
      if (converted === undefined) {
        unconvertible++;
        continue;
      }
      if (spec.plausible && (converted < spec.plausible[0] || converted > spec.plausible[1])) {
        implausible++;
        continue;
      }
      // The same result recorded twice (EHR duplicates, a panel and a stand-alone copy of one
      // reading, a mass and a molar code of one assay) counts once.
      const key = `${time}|${converted.toFixed(6)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push({
        value: converted,
        date,
        converted: normaliseUnit(unit) !== spec.unit,
        provenance: { reference: `Observation/${o.id}`, effectiveDate: date, originalValue: raw, originalUnit: unit },
      });
      if (candidates.length >= needed) break;
    }
  }
  return { candidates, implausible, unconvertible };
}

function extractQuantity(q: CompiledQuantity, record: PatientRecord, now: Date): Input {
  const spec = q.spec;
  const base = { feature: spec.id, label: spec.label, unit: spec.unit, sources: [] as Provenance[] };
  const { candidates, implausible, unconvertible } = quantityCandidates(q, record.resources, subtractDuration(now, spec.lookback).getTime(), now.getTime());
  const quality: QualityNote[] = [];
  if (implausible) quality.push({ flag: 'implausible', message: `${implausible} ${spec.label} result${implausible > 1 ? 's were' : ' was'} physiologically implausible and ignored.` });
  if (unconvertible) quality.push({ flag: 'implausible', message: `${unconvertible} ${spec.label} result${unconvertible > 1 ? 's' : ''} had a unit that cannot be converted to ${displayUnit(spec.unit)} and ${unconvertible > 1 ? 'were' : 'was'} ignored.` });
  if (!candidates.length) {
    const why = `No ${spec.label} result in the last ${describeDuration(spec.lookback)}`;
    if (q.fallback) return computedInput(q, record, now, base, quality, why);
    return missingInput(spec, base, quality, `${why}.`);
  }
  const n = spec.aggregation === 'latest' ? 1 : Math.min(spec.aggregateCount ?? candidates.length, candidates.length);
  const used = candidates.slice(0, n);
  const values = used.map((c) => c.value);
  const value =
    spec.aggregation === 'mean' ? values.reduce((s, v) => s + v, 0) / values.length : spec.aggregation === 'min' ? Math.min(...values) : spec.aggregation === 'max' ? Math.max(...values) : values[0]!;
  const newest = used[0]!;
  if (used.length > 1) quality.push({ flag: 'aggregated', message: `${spec.label} is the ${spec.aggregation} of the ${used.length} most recent results.` });
  if (used.some((c) => c.converted)) {
    const c = used.find((x) => x.converted)!;
    quality.push({ flag: 'converted', message: `${spec.label} was recorded in ${c.provenance.originalUnit} and converted to ${displayUnit(spec.unit)}.` });
  }
  if (spec.staleAfter && Date.parse(newest.date) < subtractDuration(now, spec.staleAfter).getTime()) {
    quality.push({ flag: 'stale', message: `${spec.label} is from ${newest.date.slice(0, 10)}, more than ${describeDuration(spec.staleAfter)} old.` });
  }
  quality.push(...rangeNotes(spec, value));
  return { ...base, value, display: quantityDisplay(value, spec.unit), effectiveDate: newest.date, sources: used.map((c) => c.provenance), quality };
}

/** The value of a feature with no result of its own, computed by its fallback formula from other Observations. */
function computedInput(q: CompiledQuantity, record: PatientRecord, now: Date, base: Omit<Input, 'value' | 'quality'>, quality: QualityNote[], why: string): Input {
  const spec = q.spec;
  const fb = q.fallback!;
  const values: Record<string, FormulaValue> = {};
  const absent: string[] = [];
  for (const { arg, q: oq } of fb.observations) {
    const found = quantityCandidates(oq, record.resources, subtractDuration(now, oq.spec.lookback).getTime(), now.getTime());
    if (found.implausible) quality.push({ flag: 'implausible', message: `${found.implausible} ${oq.spec.label} result${found.implausible > 1 ? 's were' : ' was'} physiologically implausible and ignored.` });
    if (found.unconvertible) quality.push({ flag: 'implausible', message: `${found.unconvertible} ${oq.spec.label} result${found.unconvertible > 1 ? 's' : ''} had a unit that cannot be converted to ${oq.spec.unit} and ${found.unconvertible > 1 ? 'were' : 'was'} ignored.` });
    const newest = found.candidates[0];
    if (newest) values[arg] = { value: newest.value, unit: oq.spec.unit, date: newest.date, provenance: newest.provenance };
    else absent.push(`no ${oq.spec.label} result in the last ${describeDuration(oq.spec.lookback)} to compute it from`);
  }
  if (absent.length) return missingInput(spec, base, quality, `${why}, and ${absent.join(', and ')}.`);
  const birthDate = record.patient.birthDate;
  const result = fb.formula.compute({
    values,
    patient: record.patient,
    ageAt: (date) => (birthDate ? ageInYears(birthDate, new Date(date)) : undefined),
  });
  if ('problem' in result) return missingInput(spec, base, quality, `${why}, and it cannot be computed: ${result.problem}.`);
  const used = Object.values(values).sort((a, b) => Date.parse(b.date) - Date.parse(a.date));
  const newest = used[0]!;
  quality.push({ flag: 'converted', message: result.explanation });
  if (spec.staleAfter && Date.parse(newest.date) < subtractDuration(now, spec.staleAfter).getTime()) {
    quality.push({ flag: 'stale', message: `${spec.label} is computed from a result of ${newest.date.slice(0, 10)}, more than ${describeDuration(spec.staleAfter)} old.` });
  }
  quality.push(...rangeNotes(spec, result.value));
  return { ...base, value: result.value, display: quantityDisplay(result.value, spec.unit), effectiveDate: newest.date, sources: used.map((v) => v.provenance), quality };
}

function extractCodedFlag(spec: CodedFlagFeature, evidence: CompiledEvidence[], record: PatientRecord, now: Date): Input {
  const base = { feature: spec.id, label: spec.label, unit: spec.unit, sources: [] as Provenance[] };
  const items: EvidenceItem[] = evidence.flatMap((e) => findEvidence(e, record.resources, now)).sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
  if (!items.length) {
    if (spec.absentValue !== undefined) {
      const statement = spec.missing.statement ?? `No ${spec.label.toLowerCase()} on record; taken as ${flagDisplay(spec.absentValue).toLowerCase()}.`;
      return { ...base, value: spec.absentValue, display: flagDisplay(spec.absentValue), quality: [{ flag: 'imputed', message: statement }] };
    }
    return missingInput(spec, base, [], `No record of ${spec.label.toLowerCase()}.`);
  }
  const positives = items.filter((i) => i.value === 1);
  const negatives = items.filter((i) => i.value === 0);
  const chosen = spec.combine === 'any' ? (positives[0] ?? items[0]!) : items[0]!;
  const quality: QualityNote[] = [];
  if (positives.length && negatives.length) {
    const p = positives[0]!;
    const n = negatives[0]!;
    quality.push({
      flag: 'conflicting',
      message: `Sources disagree on ${spec.label.toLowerCase()}: ${p.display ?? 'yes'} (${p.reference.split('/')[0]}${p.date ? `, ${p.date.slice(0, 10)}` : ''}) vs ${n.display ?? 'no'} (${n.reference.split('/')[0]}${n.date ? `, ${n.date.slice(0, 10)}` : ''}); ${spec.combine === 'any' ? 'the positive record is used' : 'the newest record is used'}.`,
    });
  }
  const used = chosen.value === 1 ? positives : negatives;
  return {
    ...base,
    value: chosen.value,
    display: flagDisplay(chosen.value),
    ...(chosen.date ? { effectiveDate: chosen.date } : {}),
    sources: used.slice(0, 5).map((i) => ({ reference: i.reference, ...(i.date ? { effectiveDate: i.date } : {}), ...(i.display ? { originalValue: i.display } : {}) })),
    quality,
  };
}

export function extractInputs(specs: readonly FeatureSpec[], record: PatientRecord, now: Date): Input[] {
  const compiled = compileFeatureSpecs(specs);
  const patientRef = `Patient/${record.patient.id}`;
  return compiled.map((c): Input => {
    switch (c.kind) {
      case 'age': {
        const spec = c.spec;
        const base = { feature: spec.id, label: spec.label, unit: spec.unit, sources: [] as Provenance[] };
        const age = record.patient.birthDate ? ageInYears(record.patient.birthDate, now) : undefined;
        if (age === undefined) return missingInput(spec, base, [], 'The patient has no usable birth date.');
        return { ...base, value: age, display: `${age} years`, sources: [{ reference: patientRef, originalValue: 'birthDate' }], quality: rangeNotes(spec, age) };
      }
      case 'patient-flag': {
        const spec = c.spec;
        const base = { feature: spec.id, label: spec.label, unit: spec.unit, sources: [] as Provenance[] };
        const found = c.path(record.patient).filter((v) => typeof v === 'string') as string[];
        if (!found.length) return missingInput(spec, base, [], `${spec.label} is not recorded.`);
        const value = found.some((v) => spec.trueValues.includes(v)) ? 1 : 0;
        return { ...base, value, display: flagDisplay(value), sources: [{ reference: patientRef, originalValue: found.join(', ') }], quality: [] };
      }
      case 'quantity':
        return extractQuantity(c.q, record, now);
      case 'coded-flag':
        return extractCodedFlag(c.spec, c.evidence, record, now);
    }
  });
}
