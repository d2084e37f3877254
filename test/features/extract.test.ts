/**
 * FHIR to features for the Pooled Cohort Equations' feature file, on real (Synthea) patients and
 * on variants of them made in the tests: code variants, unit conversion, stale, duplicate,
 * implausible, out-of-range, entered-in-error, missing, conflicting sources.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Observation, Resource } from 'fhir/r4.js';
import { extractInputs, ageInYears } from '../../src/features/extract.ts';
import { checkApplicability, missingRequired } from '../../src/features/applicability.ts';
import type { ApplicabilitySpec, FeatureSpec } from '../../src/features/feature-spec.ts';
import { lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';

const { features, applicability } = JSON.parse(readFileSync(new URL('../../models/pce-ascvd/features.json', import.meta.url), 'utf8')) as { features: FeatureSpec[]; applicability: ApplicabilitySpec };
const NORMAL = '0283b437-ef20-41bb-a026-b60a742d536a';

function record(id: string, edit: (rs: Resource[]) => Resource[] = (r) => r) {
  const b = loadBundle(id);
  return { patient: patientOf(b), resources: edit(resourcesOf(b)), now: lastRecordDate(b) };
}
const byId = (inputs: ReturnType<typeof extractInputs>) => Object.fromEntries(inputs.map((i) => [i.feature, i]));
const obsWith = (code: string) => (r: Resource) => r.resourceType === 'Observation' && (r as Observation).code.coding?.some((c) => c.code === code);

describe('a Synthea patient', () => {
  test('every input comes with value, unit, date and its source resource, checked against the raw bundle', () => {
    const r = record(NORMAL);
    const inputs = byId(extractInputs(features, r, r.now));
    const hdlObs = r.resources.filter(obsWith('2085-9')) as Observation[];
    const newest = hdlObs.sort((a, b) => b.effectiveDateTime!.localeCompare(a.effectiveDateTime!))[0]!;
    assert.equal(inputs.hdl_cholesterol!.value, newest.valueQuantity!.value);
    assert.equal(inputs.hdl_cholesterol!.unit, 'mg/dL');
    assert.equal(inputs.hdl_cholesterol!.effectiveDate, newest.effectiveDateTime);
    assert.equal(inputs.hdl_cholesterol!.sources[0]!.reference, `Observation/${newest.id}`);
    assert.equal(inputs.age!.value, ageInYears(r.patient.birthDate!, r.now));
    assert.equal(inputs.female!.value, r.patient.gender === 'female' ? 1 : 0);
    // SBP: mean of the two newest BP panels' systolic components
    const bps = (r.resources.filter(obsWith('55284-4')) as Observation[]).sort((a, b) => b.effectiveDateTime!.localeCompare(a.effectiveDateTime!)).slice(0, 2);
    const sys = bps.map((o) => o.component!.find((c) => c.code.coding?.[0]?.code === '8480-6')!.valueQuantity!.value!);
    assert.ok(Math.abs(inputs.systolic_bp!.value! - (sys[0]! + sys[1]!) / 2) < 1e-9);
    assert.equal(inputs.systolic_bp!.sources.length, 2);
  });

  test('cholesterol recorded in mmol/L is converted to mg/dL with the molar mass and flagged', () => {
    const r = record(NORMAL, (rs) =>
      rs.map((x) => (obsWith('2093-3')(x) ? { ...(x as Observation), code: { coding: [{ system: 'http://loinc.org', code: '14647-2' }] }, valueQuantity: { value: 5, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' } } : x)),
    );
    const tc = byId(extractInputs(features, r, r.now)).total_cholesterol!;
    assert.ok(Math.abs(tc.value! - 5 * 38.665) < 0.01, String(tc.value));
    assert.ok(tc.quality.some((q) => q.flag === 'converted'));
    assert.equal(tc.sources[0]!.originalUnit, 'mmol/L');
  });

  test('a stand-alone 8480-6 and an 85354-9 panel are read like the 55284-4 panel', () => {
    const when = (d: number) => new Date(Date.UTC(2021, 0, d)).toISOString();
    const base = record(NORMAL, (rs) => rs.filter((x) => !obsWith('55284-4')(x)));
    const extra: Observation[] = [
      { resourceType: 'Observation', id: 'sbp1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, effectiveDateTime: when(2), valueQuantity: { value: 150, unit: 'mmHg', code: 'mm[Hg]' } },
      { resourceType: 'Observation', id: 'bp2', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, effectiveDateTime: when(1), component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 130, code: 'mm[Hg]' } }] },
    ];
    const sbp = byId(extractInputs(features, { ...base, resources: [...base.resources, ...extra] }, new Date('2021-02-01'))).systolic_bp!;
    assert.equal(sbp.value, 140);
    assert.deepEqual(sbp.sources.map((s) => s.reference), ['Observation/sbp1', 'Observation/bp2']);
  });

  test('results older than the lookback are ignored; older than a year are used but flagged stale', () => {
    const r = record(NORMAL);
    const later = new Date(r.now.getTime() + 2 * 365 * 86_400_000);
    const inputs = byId(extractInputs(features, r, later));
    assert.ok(inputs.hdl_cholesterol!.quality.some((q) => q.flag === 'stale'));
    assert.equal(inputs.systolic_bp!.value, null, 'BP lookback is 2 years');
    assert.match(inputs.systolic_bp!.quality[0]!.message, /last 2 years/);
  });

  test('duplicates count once; entered-in-error, implausible values are ignored; out-of-range is flagged, never clamped', () => {
    const r = record(NORMAL);
    const hdl = (r.resources.filter(obsWith('2085-9')) as Observation[]).sort((a, b) => b.effectiveDateTime!.localeCompare(a.effectiveDateTime!))[0]!;
    const later = new Date(new Date(hdl.effectiveDateTime!).getTime() + 1000).toISOString();
    const copies: Observation[] = [
      { ...hdl, id: 'dup' },
      { ...hdl, id: 'eie', status: 'entered-in-error', effectiveDateTime: later, valueQuantity: { value: 15, unit: 'mg/dL', code: 'mg/dL' } },
      { ...hdl, id: 'absurd', effectiveDateTime: later, valueQuantity: { value: 4000, unit: 'mg/dL', code: 'mg/dL' } },
    ];
    const x = byId(extractInputs(features, { ...r, resources: [...r.resources, ...copies] }, r.now)).hdl_cholesterol!;
    assert.equal(x.value, hdl.valueQuantity!.value);
    assert.ok(x.quality.some((q) => q.flag === 'implausible'));
    const low = byId(extractInputs(features, { ...r, resources: [...r.resources, { ...hdl, id: 'low', effectiveDateTime: later, valueQuantity: { value: 15, unit: 'mg/dL', code: 'mg/dL' } } as Observation] }, r.now)).hdl_cholesterol!;
    assert.equal(low.value, 15);
    assert.ok(low.quality.some((q) => q.flag === 'out-of-range'));
  });

  test('a patient with no HDL has HDL missing, with a lipid panel to order, and no guess', () => {
    const r = record(NORMAL, (rs) => rs.filter((x) => !obsWith('2085-9')(x)));
    const inputs = extractInputs(features, r, r.now);
    assert.equal(byId(inputs).hdl_cholesterol!.value, null);
    const missing = missingRequired(features, inputs);
    assert.deepEqual(missing.map((m) => m.feature), ['hdl_cholesterol']);
    assert.equal(missing[0]!.orderCode?.code, '24331-1');
    assert.match(missing[0]!.requirement, /5 years/);
  });
});

describe('coded inputs and applicability', () => {
  test('conflicting smoking sources: an active "Smokes tobacco daily" condition against "Never smoker" observations is flagged', () => {
    const r = record('fe0153b2-d2ce-418e-af79-5b84587ad82c');
    const s = byId(extractInputs(features, r, r.now)).smoker!;
    assert.equal(s.value, 1);
    assert.ok(s.quality.some((q) => q.flag === 'conflicting'));
  });

  test('diabetes coded in ICD-10-CM is found like SNOMED; no diagnosis is a stated "no"', () => {
    const r = record(NORMAL);
    assert.equal(byId(extractInputs(features, r, r.now)).diabetes!.value, 0);
    assert.ok(byId(extractInputs(features, r, r.now)).diabetes!.quality.some((q) => q.flag === 'imputed'));
    const icd = { resourceType: 'Condition', id: 'dm', clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' }] }, subject: { reference: `Patient/${r.patient.id}` } } as Resource;
    assert.equal(byId(extractInputs(features, { ...r, resources: [...r.resources, icd] }, r.now)).diabetes!.value, 1);
    const refuted = { ...icd, id: 'dm2', verificationStatus: { coding: [{ code: 'refuted' }] } } as Resource;
    assert.equal(byId(extractInputs(features, { ...r, resources: [...r.resources, refuted] }, r.now)).diabetes!.value, 0);
  });

  test('an active antihypertensive prescription sets treatment; a stopped one does not', () => {
    const r = record(NORMAL);
    const med = (status: string) => ({ resourceType: 'MedicationRequest', id: `m-${status}`, status, intent: 'order', medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '316049' }] }, subject: { reference: `Patient/${r.patient.id}` } }) as Resource;
    assert.equal(byId(extractInputs(features, { ...r, resources: [...r.resources, med('stopped')] }, r.now)).bp_treated!.value, 0);
    assert.equal(byId(extractInputs(features, { ...r, resources: [...r.resources, med('active')] }, r.now)).bp_treated!.value, 1);
  });

  test('prior myocardial infarction (history-of and resolved count) makes the model not applicable, with the reason', () => {
    const r = record('51764196-d9e4-4713-86a5-7bdc6847bd01');
    const a = checkApplicability(applicability, r, extractInputs(features, r, r.now), r.now);
    assert.equal(a.applicable, false);
    assert.match((a as { reasons: string[] }).reasons.join(' '), /Prior ASCVD on record: .*(Myocardial|Coronary)/i);
  });

  test('age outside 40-79 is not applicable', () => {
    const r = record('4d56ac0a-c338-40eb-8bdd-32568b21a4e3');
    const a = checkApplicability(applicability, r, extractInputs(features, r, r.now), r.now);
    assert.equal(a.applicable, false);
    assert.match((a as { reasons: string[] }).reasons[0]!, /outside the model's range of 40-79/);
  });

  test('partial birth dates give an age', () => {
    assert.equal(ageInYears('1960', new Date('2020-12-31')), 60);
    assert.equal(ageInYears('1960-05', new Date('2020-05-01')), 59);
    assert.equal(ageInYears('not a date', new Date()), undefined);
  });
});

test('arbitrary Observation shapes never make extraction throw', () => {
  const r = record(NORMAL);
  const anyObs = fc.record({
    resourceType: fc.constant('Observation'),
    id: fc.string(),
    status: fc.oneof(fc.constantFrom('final', 'amended', 'entered-in-error'), fc.anything()),
    code: fc.oneof(fc.constant({ coding: [{ system: 'http://loinc.org', code: '2085-9' }] }), fc.constant({ coding: [{ system: 'http://loinc.org', code: '55284-4' }] }), fc.anything()),
    effectiveDateTime: fc.oneof(fc.constant('2021-01-01'), fc.string(), fc.anything()),
    valueQuantity: fc.oneof(fc.record({ value: fc.oneof(fc.double(), fc.string()), code: fc.oneof(fc.constantFrom('mg/dL', 'mmol/L', 'kg'), fc.string()) }), fc.anything()),
    component: fc.anything(),
  });
  fc.assert(
    fc.property(fc.array(anyObs, { maxLength: 8 }), (extra) => {
      const inputs = extractInputs(features, { ...r, resources: [...r.resources, ...(extra as Resource[])] }, r.now);
      assert.equal(inputs.length, features.length);
      for (const i of inputs) assert.ok(i.value === null || typeof i.value === 'number');
    }),
    { numRuns: 300 },
  );
});
