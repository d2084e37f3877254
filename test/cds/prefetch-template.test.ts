import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PrefetchTemplateError, prefetchKeysNeeded, prefetchTokens, renderPrefetchTemplate } from '../../src/cds/prefetch-template.ts';

const context = { userId: 'Practitioner/dr-7', patientId: 'p-123', encounterId: 'enc.9' };

function templateError(fn: () => unknown): PrefetchTemplateError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PrefetchTemplateError, `expected PrefetchTemplateError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the template to be refused');
}

describe('prefetch templates', () => {
  test('context fields fill the path and the query', () => {
    assert.equal(renderPrefetchTemplate('Patient/{{context.patientId}}', context), 'Patient/p-123');
    assert.equal(
      renderPrefetchTemplate('Observation?patient={{context.patientId}}&encounter={{context.encounterId}}&_count=5', context),
      'Observation?patient=p-123&encounter=enc.9&_count=5',
    );
  });

  test('text around and between tokens is kept as written', () => {
    const t = 'Observation?patient={{context.patientId}}&code=http://loinc.org|2093-3,http://loinc.org|2085-9';
    assert.equal(renderPrefetchTemplate(t, context), 'Observation?patient=p-123&code=http://loinc.org|2093-3,http://loinc.org|2085-9');
  });

  test('user tokens take the id from context.userId for the matching resource type', () => {
    const cases: [string, string, string][] = [
      ['Practitioner/dr-7', 'userPractitionerId', 'dr-7'],
      ['PractitionerRole/role-1', 'userPractitionerRoleId', 'role-1'],
      ['Patient/me', 'userPatientId', 'me'],
      ['RelatedPerson/mum', 'userRelatedPersonId', 'mum'],
    ];
    for (const [userId, token, id] of cases) {
      assert.equal(renderPrefetchTemplate(`X/{{${token}}}`, { ...context, userId }), `X/${id}`);
    }
  });

  test('a user token for another kind of user is an error naming the token', () => {
    const e = templateError(() => renderPrefetchTemplate('Practitioner/{{userPractitionerId}}', { ...context, userId: 'Patient/me' }));
    assert.equal(e.token, 'userPractitionerId');
    assert.equal(e.problem, 'missing-value');
  });

  test('a context field that is absent, empty or not a primitive is an error naming the token', () => {
    for (const ctx of [{}, { encounterId: '' }, { encounterId: null }, { encounterId: { id: 'x' } }, { encounterId: ['a'] }]) {
      const e = templateError(() => renderPrefetchTemplate('Encounter/{{context.encounterId}}', ctx));
      assert.equal(e.token, 'context.encounterId');
      assert.equal(e.problem, 'missing-value');
      assert.match(e.message, /context\.encounterId/);
    }
  });

  test('a token that is not a CDS Hooks prefetch token is an error naming it', () => {
    for (const token of ['Patient.id', 'model.codes.Observation', 'context.medications.MedicationRequest.id', 'user', '']) {
      const e = templateError(() => renderPrefetchTemplate(`Observation?code={{${token}}}`, context));
      assert.equal(e.token, token);
      assert.equal(e.problem, 'unknown-token');
    }
  });

  test('context keys inherited from Object.prototype are not values', () => {
    const e = templateError(() => renderPrefetchTemplate('X/{{context.constructor}}', context));
    assert.equal(e.problem, 'missing-value');
  });

  test('a value cannot add query parameters or path segments', () => {
    const evil = 'p1&_include=*&patient=other/../x y#';
    const rendered = renderPrefetchTemplate('Observation?patient={{context.patientId}}&_count=5', { patientId: evil });
    const query = new URLSearchParams(rendered.split('?')[1]);
    assert.deepEqual([...query.keys()], ['patient', '_count']);
    assert.equal(query.get('patient'), evil);
    assert.equal(renderPrefetchTemplate('Patient/{{context.patientId}}', { patientId: '../Group/1' }).split('/').length, 2);
  });

  test('any string value round-trips through the query intact (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'binary' }), (value) => {
        const rendered = renderPrefetchTemplate('Condition?patient={{context.patientId}}&status=active', { patientId: value });
        const query = new URLSearchParams(rendered.slice(rendered.indexOf('?') + 1));
        assert.deepEqual([...query.keys()], ['patient', 'status']);
        assert.equal(query.get('patient'), value);
      }),
    );
  });

  test('a value with a lone surrogate (valid JSON, not encodable) is a template error, not a crash', () => {
    const e = templateError(() => renderPrefetchTemplate('Patient/{{context.patientId}}', { patientId: 'a\ud800b' }));
    assert.equal(e.problem, 'invalid-value');
    assert.equal(e.token, 'context.patientId');
  });

  test('prefetchTokens lists each token once, as written', () => {
    assert.deepEqual(prefetchTokens('A?p={{context.patientId}}&q={{ context.patientId }}&u={{userPractitionerId}}'), ['context.patientId', 'userPractitionerId']);
  });

  test('prefetchKeysNeeded names the context fields the templates need', () => {
    const templates = {
      patient: 'Patient/{{context.patientId}}',
      encounter: 'Encounter/{{context.encounterId}}',
      user: 'PractitionerRole/{{userPractitionerRoleId}}',
      all: 'Observation?patient={{context.patientId}}',
    };
    assert.deepEqual(prefetchKeysNeeded(templates), ['encounterId', 'patientId', 'userId']);
    assert.deepEqual(prefetchKeysNeeded({}), []);
    assert.equal(templateError(() => prefetchKeysNeeded({ x: 'Patient/{{Patient.id}}' })).token, 'Patient.id');
  });
});
