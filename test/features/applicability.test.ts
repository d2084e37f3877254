/**
 * Whether the Pooled Cohort Equations apply to a patient: age range, sex, prior ASCVD from
 * Conditions (any clinical status) and procedures, on fixture patients and variants of them.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Condition, Procedure, Resource } from 'fhir/r4.js';
import { extractInputs, type PatientRecord } from '../../src/features/extract.ts';
import { checkApplicability } from '../../src/features/applicability.ts';
import type { ApplicabilitySpec, FeatureSpec } from '../../src/features/feature-spec.ts';
import { ageAt, fixturePatientIds, lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';

const { features, applicability } = JSON.parse(readFileSync(new URL('../../models/pce-ascvd/features.json', import.meta.url), 'utf8')) as {
  features: FeatureSpec[];
  applicability: ApplicabilitySpec;
};
const MI_PATIENT = '51764196-d9e4-4713-86a5-7bdc6847bd01';
const NORMAL = '0283b437-ef20-41bb-a026-b60a742d536a';
const SNOMED = 'http://snomed.info/sct';

function record(id: string, edit: (rs: Resource[]) => Resource[] = (r) => r): PatientRecord & { resources: Resource[]; now: Date } {
  const b = loadBundle(id);
  return { patient: patientOf(b), resources: edit(resourcesOf(b)), now: lastRecordDate(b) };
}
function check(r: PatientRecord & { now: Date }, spec: ApplicabilitySpec = applicability) {
  return checkApplicability(spec, r, extractInputs(features, r, r.now), r.now);
}
const reasonsOf = (a: ReturnType<typeof check>) => (a.applicable ? [] : a.reasons);
const ascvdConditions = (rs: Resource[]) =>
  rs.filter((x): x is Condition => x.resourceType === 'Condition' && ['22298006', '399211009', '230690007', '53741008'].includes((x as Condition).code?.coding?.[0]?.code ?? ''));

describe('prior ASCVD', () => {
  test('a patient with a myocardial infarction on record is not applicable, and the reason names it with its year', () => {
    const r = record(MI_PATIENT);
    const mi = r.resources.find((x) => x.resourceType === 'Condition' && (x as Condition).code?.coding?.some((c) => c.code === '22298006')) as Condition;
    const reasons = reasonsOf(check(r));
    assert.equal(reasons.length, 1);
    assert.ok(reasons[0]!.startsWith('Prior ASCVD on record: '), reasons[0]);
    assert.ok(reasons[0]!.includes(`Myocardial infarction (${mi.onsetDateTime!.slice(0, 4)})`), reasons[0]);
  });

  test('resolved and history-of diagnoses still exclude; entered-in-error and refuted ones do not', () => {
    const resolved = record(MI_PATIENT, (rs) =>
      rs.map((x) => (ascvdConditions([x]).length ? { ...x, clinicalStatus: { coding: [{ code: 'resolved' }] }, abatementDateTime: '2000-01-01' } : x)),
    );
    assert.equal(check(resolved).applicable, false);
    const mistakes = record(MI_PATIENT, (rs) =>
      rs.map((x, i) => (ascvdConditions([x]).length ? { ...x, verificationStatus: { coding: [{ code: i % 2 ? 'entered-in-error' : 'refuted' }] } } : x)),
    );
    assert.deepEqual(check(mistakes), { applicable: true });
  });

  test('an ICD-10-CM I21 diagnosis or a coronary bypass procedure excludes a patient who had none', () => {
    const base = record(NORMAL);
    assert.deepEqual(check(base), { applicable: true });
    const icd: Condition = { resourceType: 'Condition', id: 'icd-mi', subject: { reference: `Patient/${base.patient.id}` }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I21.4' }] }, onsetDateTime: '2015-04-01' };
    assert.match(reasonsOf(check({ ...base, resources: [...base.resources, icd] })).join(' '), /Acute myocardial infarction \(2015\)/);
    const cabg: Procedure = { resourceType: 'Procedure', id: 'cabg', status: 'completed', subject: { reference: `Patient/${base.patient.id}` }, code: { coding: [{ system: SNOMED, code: '232717009' }] }, performedDateTime: '2012-06-01' };
    assert.match(reasonsOf(check({ ...base, resources: [...base.resources, cabg] })).join(' '), /Coronary artery bypass grafting \(2012\)/);
    assert.deepEqual(check({ ...base, resources: [...base.resources, { ...cabg, status: 'not-done' } as Procedure] }), { applicable: true });
  });

  test('across the fixture patients, exactly those with an MI, stroke or CHD condition are excluded for prior ASCVD', () => {
    for (const id of fixturePatientIds()) {
      const r = record(id);
      const excluded = reasonsOf(check(r)).some((x) => x.startsWith('Prior ASCVD'));
      assert.equal(excluded, ascvdConditions(r.resources).length > 0, id);
    }
  });
});

describe('age and sex', () => {
  test('ages outside 40-79 are not applicable, with the age in the reason', () => {
    let seen = 0;
    for (const id of fixturePatientIds()) {
      const r = record(id);
      const age = ageAt(r.patient, r.now);
      const reasons = reasonsOf(check(r));
      const ageReason = reasons.find((x) => x.includes("outside the model's range of 40-79"));
      assert.equal(Boolean(ageReason), age < 40 || age > 79, `${id} age ${age}`);
      if (ageReason) {
        assert.equal(ageReason, `Age ${age} is outside the model's range of 40-79 years.`);
        seen++;
      }
    }
    assert.ok(seen >= 3, 'the fixtures include patients under 40 and over 79');
  });

  test('a model built for one sex is not applicable to the other', () => {
    const r = record(MI_PATIENT);
    assert.equal(r.patient.gender, 'male');
    const reasons = reasonsOf(check(r, { sex: ['female'] }));
    assert.deepEqual(reasons, ['The model was developed for female patients only.']);
    assert.deepEqual(check(record(NORMAL), { sex: ['female'] }), { applicable: true });
  });

  test('reasons never contain the patient id or name', () => {
    for (const id of fixturePatientIds()) {
      const r = record(id);
      const names = (r.patient.name ?? []).flatMap((n) => [...(n.given ?? []), n.family ?? '']).filter((x) => x.length > 2);
      for (const reason of reasonsOf(check(r))) {
        assert.ok(!reason.includes(id), reason);
        for (const n of names) assert.ok(!reason.includes(n), reason);
      }
    }
  });
});
