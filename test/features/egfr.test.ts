/**
 * eGFR for PREVENT: the race-free CKD-EPI 2021 equation against the reference vectors, and the
 * PREVENT feature file's eGFR input on Synthea patients: an eGFR result from the record wins, else
 * it is computed from serum creatinine and cites the creatinine Observation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Observation, Resource } from 'fhir/r4.js';
import { ageInYears, extractInputs } from '../../src/features/extract.ts';
import { missingRequired } from '../../src/features/applicability.ts';
import { ckdEpi2021Egfr, formulaFor, formulaProblems } from '../../src/features/formulas.ts';
import type { FeatureSpec, ObservationQuantityFeature } from '../../src/features/feature-spec.ts';
import { loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/reference-vectors/prevent.json', import.meta.url), 'utf8')) as {
  egfr_ckd_epi_2021: { cases: { id: string; creatinine_mg_dl: number; age: number; sex: 'female' | 'male'; expected_egfr_ml_min_1_73m2: number }[] };
};
const { features } = JSON.parse(readFileSync(new URL('../../models/prevent-build/features.json', import.meta.url), 'utf8')) as { features: FeatureSpec[] };
const egfrSpec = features.find((f) => f.id === 'egfr') as ObservationQuantityFeature;

/** A woman born 1964 whose record has eGFR (33914-3) and creatinine (38483-4) results on the same days. */
const WOMAN = '87a339d0-8cae-418e-89c7-8651e6aab3c6';
const EGFR_CODES = new Set(['33914-3', '62238-1', '98979-8', '48642-3', '48643-1']);
const CREATININE_CODES = new Set(['38483-4', '2160-0', '14682-9']);

const hasCode = (codes: Set<string>) => (r: Resource) => r.resourceType === 'Observation' && !!(r as Observation).code.coding?.some((c) => codes.has(c.code ?? ''));
const newestOf = (rs: Resource[], codes: Set<string>) =>
  (rs.filter(hasCode(codes)) as Observation[]).sort((a, b) => b.effectiveDateTime!.localeCompare(a.effectiveDateTime!))[0]!;

function record(edit: (rs: Resource[]) => Resource[] = (r) => r) {
  const b = loadBundle(WOMAN);
  const resources = edit(resourcesOf(b));
  const newest = newestOf(resourcesOf(b), CREATININE_CODES);
  return { patient: patientOf(b), resources, now: new Date(Date.parse(newest.effectiveDateTime!) + 30 * 86_400_000) };
}

function egfrOf(r: ReturnType<typeof record>, now = r.now) {
  return extractInputs(features, r, now).find((i) => i.feature === 'egfr')!;
}

const creatinine = (id: string, date: string, value: number, unit: 'mg/dL' | 'umol/L', code = unit === 'mg/dL' ? '2160-0' : '14682-9'): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  effectiveDateTime: date,
  valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
});

describe('the CKD-EPI 2021 equation', () => {
  test('every creatinine case of the reference vectors gives the expected eGFR within 0.01 mL/min/1.73 m²', () => {
    const cases = vectors.egfr_ckd_epi_2021.cases;
    assert.equal(cases.length, 15);
    const misses = cases
      .map((c) => ({ id: c.id, expected: c.expected_egfr_ml_min_1_73m2, got: ckdEpi2021Egfr(c.creatinine_mg_dl, c.age, c.sex) }))
      .filter((r) => !(Math.abs(r.got - r.expected) <= 0.01));
    assert.deepEqual(misses, []);
  });

  test('it is race-free: the formula reads only creatinine, age and sex', () => {
    const formula = formulaFor('ckd-epi-2021')!;
    assert.deepEqual(Object.keys(formula.arguments), ['creatinine']);
    assert.equal(ckdEpi2021Egfr.length, 3);
  });
});

describe('the eGFR input of the PREVENT feature file', () => {
  test('an eGFR result from the record is preferred over computing it from creatinine', () => {
    const r = record();
    const egfrObs = newestOf(r.resources, EGFR_CODES);
    const input = egfrOf(r);
    assert.equal(input.value, egfrObs.valueQuantity!.value);
    assert.deepEqual(input.sources.map((s) => s.reference), [`Observation/${egfrObs.id}`]);
    assert.ok(!input.quality.some((q) => /CKD-EPI/.test(q.message)), 'no computed-eGFR note');
    // The creatinine of the same day would give a different value: the test tells the two apart.
    const cr = newestOf(r.resources, CREATININE_CODES);
    const computed = ckdEpi2021Egfr(cr.valueQuantity!.value!, ageInYears(r.patient.birthDate!, new Date(cr.effectiveDateTime!))!, 'female');
    assert.ok(Math.abs(computed - input.value!) > 1, `${computed} vs ${input.value}`);
  });

  test('without an eGFR result it is computed from the newest creatinine, which it cites as its source', () => {
    const r = record((rs) => rs.filter((x) => !hasCode(EGFR_CODES)(x)));
    const cr = newestOf(r.resources, CREATININE_CODES);
    const input = egfrOf(r);
    const age = ageInYears(r.patient.birthDate!, new Date(cr.effectiveDateTime!))!;
    assert.ok(Math.abs(input.value! - ckdEpi2021Egfr(cr.valueQuantity!.value!, age, 'female')) < 1e-9);
    assert.equal(input.unit, 'mL/min/{1.73_m2}');
    assert.equal(input.effectiveDate, cr.effectiveDateTime);
    assert.deepEqual(input.sources, [
      { reference: `Observation/${cr.id}`, effectiveDate: cr.effectiveDateTime, originalValue: cr.valueQuantity!.value, originalUnit: 'mg/dL' },
    ]);
    const note = input.quality.find((q) => q.flag === 'converted');
    assert.ok(note, JSON.stringify(input.quality));
    assert.match(note.message, /computed from serum creatinine \d+(\.\d+)? mg\/dL \(\d{4}-\d\d-\d\d\) with the race-free CKD-EPI 2021 equation/);
    assert.ok(note.message.includes(cr.effectiveDateTime!.slice(0, 10)));
  });

  test('the note gives the creatinine and date as recorded ("1.1 mg/dL (2020-05-01)")', () => {
    const r = record((rs) => [...rs.filter((x) => !hasCode(EGFR_CODES)(x) && !hasCode(CREATININE_CODES)(x)), creatinine('cr1', '2020-05-01T09:00:00Z', 1.1, 'mg/dL')]);
    const input = egfrOf(r, new Date('2020-06-01T00:00:00Z'));
    const age = ageInYears(r.patient.birthDate!, new Date('2020-05-01T09:00:00Z'))!;
    assert.equal(age, 55);
    assert.ok(Math.abs(input.value! - ckdEpi2021Egfr(1.1, 55, 'female')) < 1e-9);
    assert.match(input.quality.find((q) => q.flag === 'converted')!.message, /creatinine 1\.1 mg\/dL \(2020-05-01\)/);
  });

  test('creatinine in µmol/L is converted to mg/dL first (200 µmol/L at 70 gives 22.75 for a woman)', () => {
    const r = record((rs) => [...rs.filter((x) => !hasCode(EGFR_CODES)(x) && !hasCode(CREATININE_CODES)(x)), creatinine('cr-si', '2034-06-01T09:00:00Z', 200, 'umol/L')]);
    assert.equal(ageInYears(r.patient.birthDate!, new Date('2034-06-01T09:00:00Z')), 70);
    const input = egfrOf(r, new Date('2034-07-01T00:00:00Z'));
    const expected = vectors.egfr_ckd_epi_2021.cases.find((c) => c.id === 'egfr-008')!.expected_egfr_ml_min_1_73m2;
    assert.ok(Math.abs(input.value! - expected) <= 0.01, `${input.value} vs ${expected}`);
    assert.equal(input.sources[0]!.originalUnit, 'umol/L');
    assert.match(input.quality.find((q) => q.flag === 'converted')!.message, /200 umol\/L \(2\.26 mg\/dL\)/);
  });

  test('a computed eGFR below the validated range is flagged, not clamped; an old creatinine is flagged stale', () => {
    const r = record((rs) => [...rs.filter((x) => !hasCode(EGFR_CODES)(x) && !hasCode(CREATININE_CODES)(x)), creatinine('cr-high', '2019-01-10T09:00:00Z', 4.2, 'mg/dL')]);
    const input = egfrOf(r, new Date('2020-06-01T00:00:00Z'));
    assert.ok(input.value! < 15, String(input.value));
    assert.ok(Math.abs(input.value! - ckdEpi2021Egfr(4.2, 54, 'female')) < 1e-9);
    assert.ok(input.quality.some((q) => q.flag === 'out-of-range'));
    assert.ok(input.quality.some((q) => q.flag === 'stale'));
  });

  test('with neither eGFR nor creatinine in two years the input is missing, says both, and suggests a creatinine test', () => {
    const r = record((rs) => rs.filter((x) => !hasCode(EGFR_CODES)(x) && !hasCode(CREATININE_CODES)(x)));
    const inputs = extractInputs(features, r, r.now);
    const input = inputs.find((i) => i.feature === 'egfr')!;
    assert.equal(input.value, null);
    assert.match(input.quality[0]!.message, /No eGFR result in the last 2 years, and no serum creatinine result in the last 2 years/);
    const missing = missingRequired(features, inputs).find((m) => m.feature === 'egfr');
    assert.equal(missing?.orderCode?.code, '2160-0');
  });

  test('a patient whose sex is not recorded as female or male gets no computed eGFR, and the reason', () => {
    const base = record((rs) => rs.filter((x) => !hasCode(EGFR_CODES)(x)));
    const r = { ...base, patient: { ...base.patient, gender: 'unknown' as const } };
    const input = egfrOf(r);
    assert.equal(input.value, null);
    assert.match(input.quality.find((q) => q.flag === 'missing')!.message, /cannot be computed: the equation needs sex recorded as female or male/);
  });

  test('a creatinine marked entered-in-error is not used', () => {
    const bad = { ...creatinine('cr-err', '2020-05-20T09:00:00Z', 0.5, 'mg/dL'), status: 'entered-in-error' as const };
    const r = record((rs) => [...rs.filter((x) => !hasCode(EGFR_CODES)(x) && !hasCode(CREATININE_CODES)(x)), creatinine('cr-ok', '2020-05-01T09:00:00Z', 1.1, 'mg/dL'), bad]);
    const input = egfrOf(r, new Date('2020-06-01T00:00:00Z'));
    assert.deepEqual(input.sources.map((s) => s.reference), ['Observation/cr-ok']);
  });
});

describe('formula fallbacks in feature files', () => {
  test('the PREVENT feature file names a known formula with the arguments and units it takes', () => {
    assert.equal(egfrSpec.fallback?.formula, 'ckd-epi-2021');
    assert.deepEqual(formulaProblems(features), []);
  });

  test('an unknown formula, a wrong unit or a missing argument is reported in a sentence', () => {
    const fb = egfrSpec.fallback!;
    const variants: [string, ObservationQuantityFeature, RegExp][] = [
      ['unknown formula', { ...egfrSpec, fallback: { ...fb, formula: 'mdrd' } }, /formula "mdrd", which is not one of ckd-epi-2021/],
      ['creatinine in µmol/L', { ...egfrSpec, fallback: { ...fb, observations: { creatinine: { ...fb.observations.creatinine!, unit: 'umol/L' } } } }, /takes creatinine in mg\/dL, not umol\/L/],
      ['no creatinine', { ...egfrSpec, fallback: { ...fb, observations: {} } }, /needs the Observation "creatinine"/],
      ['feature in another unit', { ...egfrSpec, unit: 'mL/s' }, /is in mL\/s but the formula "ckd-epi-2021" gives/],
    ];
    for (const [name, spec, expected] of variants) {
      const problems = formulaProblems([spec]);
      assert.equal(problems.length, 1, `${name}: ${problems.join(' ')}`);
      assert.match(problems[0]!, expected, name);
    }
  });
});
