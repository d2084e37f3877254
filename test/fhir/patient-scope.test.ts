import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4.js';
import { belongsToPatient, referencedPatientIds } from '../../src/fhir/patient-scope.ts';

const obs = (reference: string): Resource => ({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference } }) as Resource;

describe('patient scope', () => {
  test('relative, absolute and versioned references name the same patient', () => {
    for (const ref of ['Patient/p1', 'https://ehr.example.org/fhir/Patient/p1', 'Patient/p1/_history/3']) {
      assert.deepEqual(referencedPatientIds(obs(ref)), ['p1'], ref);
      assert.equal(belongsToPatient(obs(ref), 'p1'), true, ref);
      assert.equal(belongsToPatient(obs(ref), 'p2'), false, ref);
    }
  });

  test('AllergyIntolerance.patient is checked like subject', () => {
    const allergy = { resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/p2' } } as Resource;
    assert.equal(belongsToPatient(allergy, 'p1'), false);
    assert.equal(belongsToPatient(allergy, 'p2'), true);
  });

  test('a Patient belongs only when it is the patient', () => {
    assert.equal(belongsToPatient({ resourceType: 'Patient', id: 'p1' }, 'p1'), true);
    assert.equal(belongsToPatient({ resourceType: 'Patient', id: 'p2' }, 'p1'), false);
    assert.equal(belongsToPatient({ resourceType: 'Patient' }, 'p1'), false);
  });

  test('resources that name no patient are kept', () => {
    assert.equal(belongsToPatient({ resourceType: 'Practitioner', id: 'x' }, 'p1'), true);
    assert.equal(belongsToPatient(obs('Group/g1'), 'p1'), true);
  });
});
