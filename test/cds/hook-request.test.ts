import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseHookRequest } from '../../src/cds/hook-request.ts';
import { HOOK_CONTEXTS, validateHookContext } from '../../src/cds/hook-contexts.ts';
import { HttpError } from '../../src/errors.ts';

const valid = {
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { userId: 'Practitioner/example', patientId: '1288992' },
};

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HttpError, 'expected an HttpError');
    assert.equal(e.status, 400);
    return e.issue.expression?.[0];
  }
  assert.fail('expected the request to be refused');
}

describe('a patient-view request', () => {
  test('a minimal spec-valid request is accepted, unknown extra fields tolerated', () => {
    const r = parseHookRequest({ ...valid, somethingNew: { a: 1 } }, 'patient-view');
    assert.equal(r.context.patientId, '1288992');
    assert.equal(r.prefetch, undefined);
  });

  const cases: [string, unknown, string][] = [
    ['body not an object', [], '$'],
    ['hook missing', { ...valid, hook: undefined }, 'hook'],
    ['hook of another service', { ...valid, hook: 'order-sign' }, 'hook'],
    ['hookInstance missing', { ...valid, hookInstance: undefined }, 'hookInstance'],
    ['context missing', { ...valid, context: undefined }, 'context'],
    ['patientId missing', { ...valid, context: { userId: 'Practitioner/1' } }, 'context.patientId'],
    ['patientId not a bare id', { ...valid, context: { ...valid.context, patientId: 'Patient/123' } }, 'context.patientId'],
    ['userId not a reference', { ...valid, context: { ...valid.context, userId: 'bob' } }, 'context.userId'],
    ['fhirAuthorization without fhirServer', { ...valid, fhirAuthorization: { access_token: 'x', token_type: 'Bearer' } }, 'fhirServer'],
    ['fhirAuthorization token type', { ...valid, fhirServer: 'https://ehr.example/fhir', fhirAuthorization: { access_token: 'x', token_type: 'MAC' } }, 'fhirAuthorization.token_type'],
    ['fhirServer not a URL', { ...valid, fhirServer: 'ehr' }, 'fhirServer'],
    ['prefetch not an object', { ...valid, prefetch: 'all' }, 'prefetch'],
  ];
  for (const [name, body, field] of cases) {
    test(`is refused with a 400 naming ${field} when ${name}`, () => {
      assert.equal(fieldOf(() => parseHookRequest(body, 'patient-view')), field);
    });
  }

  test('fhirAuthorization with fhirServer is kept and the server URL loses a trailing slash', () => {
    const r = parseHookRequest({ ...valid, fhirServer: 'https://ehr.example/fhir/', fhirAuthorization: { access_token: 'tok', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds' } }, 'patient-view');
    assert.equal(r.fhirServer, 'https://ehr.example/fhir');
    assert.equal(r.fhirAuthorization?.accessToken, 'tok');
  });
});

describe('context schemas of the six standard hooks', () => {
  test('all six hooks are known', () => {
    assert.deepEqual(Object.keys(HOOK_CONTEXTS).sort(), ['appointment-book', 'encounter-discharge', 'encounter-start', 'order-select', 'order-sign', 'patient-view']);
  });
  test('order-sign needs draftOrders as a Bundle; encounter-start needs encounterId', () => {
    assert.equal(fieldOf(() => validateHookContext('order-sign', { userId: 'Practitioner/1', patientId: '1' })), 'context.draftOrders');
    assert.doesNotThrow(() => validateHookContext('order-sign', { userId: 'Practitioner/1', patientId: '1', draftOrders: { resourceType: 'Bundle', entry: [] } }));
    assert.equal(fieldOf(() => validateHookContext('encounter-start', { userId: 'Practitioner/1', patientId: '1' })), 'context.encounterId');
    assert.equal(fieldOf(() => validateHookContext('order-select', { userId: 'Practitioner/1', patientId: '1', draftOrders: { resourceType: 'Bundle' }, selections: [1] })), 'context.selections');
    assert.equal(fieldOf(() => validateHookContext('appointment-book', { userId: 'Patient/1', patientId: '1' })), 'context.appointments');
  });
});
