import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Bundle, Observation, Resource } from 'fhir/r4.js';
import { loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';
import { prefetchFor } from '../support/ehr.ts';
import { startFixtureFhirServer } from '../support/fhir-server.ts';
import type { RunningFhirServer } from '../../src/sandbox/fhir-server.ts';
import { HttpError } from '../../src/errors.ts';
import { gatherPatientData, type PatientDataRequest } from '../../src/fhir/patient-data.ts';
import { sendJson, startMisbehavingServer } from './misbehaving-server.ts';

// Many Observations (4 pages of 50); allergies; no MedicationRequest at all; no active one.
const BIG = '4d56ac0a-c338-40eb-8bdd-32568b21a4e3';
const ALLERGIC = '963dabe4-84e7-4751-b432-e34bdbdbde05';
const NO_MEDS = 'd78af07c-9cb9-4f31-9b11-c45a28f2eec8';
const NO_ACTIVE_MEDS = '0283b437-ef20-41bb-a026-b60a742d536a';
const PATIENTS = [BIG, ALLERGIC, NO_MEDS, NO_ACTIVE_MEDS];
const TOKEN = 'ehr-access-token-3f9c';

const TEMPLATES = {
  patient: 'Patient/{{context.patientId}}',
  observations: 'Observation?patient={{context.patientId}}',
  conditions: 'Condition?patient={{context.patientId}}',
  medications: 'MedicationRequest?patient={{context.patientId}}&status=active',
  allergies: 'AllergyIntolerance?patient={{context.patientId}}',
};

let open: RunningFhirServer;
let secured: RunningFhirServer;

before(async () => {
  open = await startFixtureFhirServer({ patients: PATIENTS });
  secured = await startFixtureFhirServer({ patients: [BIG], accessToken: TOKEN });
});
after(async () => {
  await open?.close();
  await secured?.close();
});

function request(patientId: string, extra: Partial<PatientDataRequest> = {}): PatientDataRequest {
  return { templates: TEMPLATES, context: { userId: 'Practitioner/example', patientId }, budgetMs: 3000, requiredKeys: ['patient'], ...extra };
}

/** What each key should hold, worked out from the fixture bundle, not from the server. */
function expectedCounts(patientId: string): Record<keyof typeof TEMPLATES, number> {
  const rs = resourcesOf(loadBundle(patientId));
  const of = (type: string) => rs.filter((r) => r.resourceType === type);
  return {
    patient: 1,
    observations: of('Observation').length,
    conditions: of('Condition').length,
    medications: of('MedicationRequest').filter((m) => (m as { status?: string }).status === 'active').length,
    allergies: of('AllergyIntolerance').length,
  };
}

const identities = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id}`).sort();

async function rejection(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HttpError, `expected an HttpError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected gatherPatientData to refuse');
}

const searchset = (entry: Resource[] = [], total = entry.length): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total,
  ...(entry.length ? { entry: entry.map((resource) => ({ resource })) } : {}),
});

describe('gatherPatientData', () => {
  test('prefetched and fetched data give the same resources for fixture patients', async () => {
    for (const id of PATIENTS) {
      const prefetch = await prefetchFor(open.url, TEMPLATES, id);
      const given = await gatherPatientData(request(id, { prefetch }));
      const fetched = await gatherPatientData(request(id, { fhirServer: open.url }));
      assert.deepEqual(identities(fetched.resources), identities(given.resources), id);
      assert.equal(given.patient.id, id);
      assert.equal(fetched.patient.id, id);
      const expected = expectedCounts(id);
      for (const [key, count] of Object.entries(expected)) {
        assert.equal(given.keys[key]!.count, count, `${id} ${key} prefetched`);
        assert.equal(fetched.keys[key]!.count, count, `${id} ${key} fetched`);
        assert.equal(given.keys[key]!.status, count ? 'prefetched' : 'no-data', `${id} ${key}`);
        assert.equal(fetched.keys[key]!.status, count ? 'fetched' : 'no-data', `${id} ${key}`);
      }
      assert.equal(given.resources.length, Object.values(expected).reduce((a, b) => a + b, 0));
    }
  });

  test('an absent key is fetched from the FHIR server with the bearer token', async () => {
    const patient = patientOf(loadBundle(BIG));
    const before = secured.requests;
    const data = await gatherPatientData(request(BIG, { prefetch: { patient }, fhirServer: secured.url, accessToken: TOKEN }));
    assert.equal(data.keys.patient!.status, 'prefetched');
    assert.equal(data.keys.conditions!.status, 'fetched');
    assert.equal(data.keys.conditions!.count, expectedCounts(BIG).conditions);
    assert.equal(data.keys.observations!.count, expectedCounts(BIG).observations);
    assert.ok(secured.requests > before + 3, 'the four absent keys were fetched');
  });

  test('without the token the server refuses: optional keys are unavailable, the card can still be made', async () => {
    const patient = patientOf(loadBundle(BIG));
    const data = await gatherPatientData(request(BIG, { prefetch: { patient }, fhirServer: secured.url }));
    assert.equal(data.patient.id, BIG);
    for (const key of ['observations', 'conditions', 'medications', 'allergies']) {
      assert.equal(data.keys[key]!.status, 'unavailable', key);
      assert.match(data.keys[key]!.reason ?? '', /HTTP 401/);
    }
  });

  test('a wrong token when the patient must be fetched is a 412, and the token appears nowhere in it', async () => {
    const e = await rejection(gatherPatientData(request(BIG, { fhirServer: secured.url, accessToken: `${TOKEN}-wrong` })));
    assert.equal(e.status, 412);
    assert.deepEqual(e.issue.expression, ['prefetch.patient']);
    const everything = `${e.message} ${JSON.stringify(e.toOperationOutcome())} ${e.stack}`;
    assert.ok(!everything.includes(TOKEN));
  });

  test('null, an empty Bundle and a searchset with total 0 mean no data, and nothing is fetched', async () => {
    const patient = patientOf(loadBundle(BIG));
    const before = open.requests;
    const data = await gatherPatientData(
      request(BIG, {
        fhirServer: open.url,
        prefetch: { patient, observations: null, conditions: { resourceType: 'Bundle', type: 'searchset' }, medications: searchset([], 0), allergies: searchset() },
      }),
    );
    assert.equal(open.requests, before);
    for (const key of ['observations', 'conditions', 'medications', 'allergies']) assert.deepEqual(data.keys[key], { status: 'no-data', count: 0 }, key);
    assert.deepEqual(identities(data.resources), [`Patient/${BIG}`]);
  });

  test('a prefetched OperationOutcome is unavailable without a FHIR server, and fetched with one', async () => {
    const patient = patientOf(loadBundle(BIG));
    const oo = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] };
    const alone = await gatherPatientData(request(BIG, { prefetch: { patient, conditions: oo, observations: null, medications: null, allergies: null } }));
    assert.equal(alone.keys.conditions!.status, 'unavailable');
    const helped = await gatherPatientData(request(BIG, { fhirServer: open.url, prefetch: { patient, conditions: oo, observations: null, medications: null, allergies: null } }));
    assert.equal(helped.keys.conditions!.status, 'fetched');
    assert.equal(helped.keys.conditions!.count, expectedCounts(BIG).conditions);
  });

  test('a required key that can be neither prefetched nor fetched is a 412 naming it', async () => {
    const noPatient = await rejection(gatherPatientData(request(BIG, { prefetch: { observations: null } })));
    assert.equal(noPatient.status, 412);
    assert.deepEqual(noPatient.issue.expression, ['prefetch.patient']);
    const patient = patientOf(loadBundle(BIG));
    const oo = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] };
    const noObs = await rejection(gatherPatientData(request(BIG, { prefetch: { patient, observations: oo }, requiredKeys: ['patient', 'observations'] })));
    assert.equal(noObs.status, 412);
    assert.deepEqual(noObs.issue.expression, ['prefetch.observations']);
  });

  test('a patient the FHIR server does not know is a 412', async () => {
    const e = await rejection(gatherPatientData(request('no-such-patient', { fhirServer: open.url })));
    assert.equal(e.status, 412);
    assert.deepEqual(e.issue.expression, ['prefetch.patient']);
  });

  test('paging is followed: _count=5 in the template fetches every page', async () => {
    const templates = { patient: TEMPLATES.patient, observations: 'Observation?patient={{context.patientId}}&code=http://loinc.org|2093-3,http://loinc.org|2085-9&_count=5' };
    const lipids = resourcesOf(loadBundle(BIG)).filter(
      (r): r is Observation => r.resourceType === 'Observation' && ((r as Observation).code.coding ?? []).some((c) => c.code === '2093-3' || c.code === '2085-9'),
    );
    assert.ok(lipids.length > 10);
    const before = open.requests;
    const data = await gatherPatientData(request(BIG, { templates, fhirServer: open.url }));
    assert.equal(data.keys.observations!.count, lipids.length);
    assert.deepEqual(identities(data.resources.filter((r) => r.resourceType === 'Observation')), identities(lipids));
    assert.equal(open.requests - before, 1 + Math.ceil(lipids.length / 5));
  });

  test('a prefetched Patient other than the one in context is refused with 400 naming the key', async () => {
    const e = await rejection(gatherPatientData(request(BIG, { prefetch: { patient: patientOf(loadBundle(ALLERGIC)) } })));
    assert.equal(e.status, 400);
    assert.deepEqual(e.issue.expression, ['prefetch.patient']);
  });

  test('prefetched resources about another patient are dropped', async () => {
    const mine = resourcesOf(loadBundle(ALLERGIC)).filter((r) => r.resourceType === 'AllergyIntolerance');
    const theirs = (await prefetchFor(open.url, { c: TEMPLATES.conditions }, BIG)).c as Bundle;
    const mixed = searchset([...(theirs.entry ?? []).map((e) => e.resource!), patientOf(loadBundle(BIG))]);
    const prefetch = await prefetchFor(open.url, TEMPLATES, ALLERGIC);
    const data = await gatherPatientData(request(ALLERGIC, { prefetch: { ...prefetch, conditions: mixed } }));
    assert.ok(data.resources.every((r) => r.resourceType !== 'Condition'));
    assert.ok(!data.resources.some((r) => r.resourceType === 'Patient' && r.id === BIG));
    assert.equal(data.keys.conditions!.count, 0);
    assert.equal(data.keys.allergies!.count, mine.length);
  });

  test('a resource in two keys is kept once', async () => {
    const templates = { ...TEMPLATES, again: 'Condition?patient={{context.patientId}}' };
    const data = await gatherPatientData(request(BIG, { templates, fhirServer: open.url }));
    assert.equal(new Set(identities(data.resources)).size, data.resources.length);
    assert.equal(data.keys.again!.status, 'fetched');
    assert.equal(data.keys.again!.count, 0);
    assert.equal(data.keys.conditions!.count, expectedCounts(BIG).conditions);
  });

  test('a prefetch value that is not FHIR is a 400 naming the key', async () => {
    for (const bad of ['Patient/1', [1, 2], { id: 'x' }, 42]) {
      const e = await rejection(gatherPatientData(request(BIG, { prefetch: { patient: patientOf(loadBundle(BIG)), conditions: bad } })));
      assert.equal(e.status, 400);
      assert.deepEqual(e.issue.expression, ['prefetch.conditions']);
    }
  });

  test('whatever the EHR puts in prefetch, the answer is data, a 400 or a 412, never a crash (property)', async () => {
    const patient = patientOf(loadBundle(BIG));
    const resourceLike = fc.record({ resourceType: fc.constantFrom('Bundle', 'Patient', 'Observation', 'OperationOutcome', 'Condition'), id: fc.option(fc.string()), entry: fc.option(fc.array(fc.jsonValue(), { maxLength: 3 })), subject: fc.option(fc.jsonValue()) }, { requiredKeys: ['resourceType'] });
    const value = fc.oneof(fc.jsonValue(), resourceLike, fc.constant(patient), fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...Object.keys(TEMPLATES), 'extra'), value), async (prefetch) => {
        try {
          const data = await gatherPatientData(request(BIG, { prefetch, budgetMs: 50 }));
          assert.equal(data.patient.id, BIG);
          assert.ok(data.resources.every((r) => typeof r.resourceType === 'string'));
        } catch (e) {
          assert.ok(e instanceof HttpError, String(e));
          assert.ok(e.status === 400 || e.status === 412);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a template whose context field is missing makes that key unavailable, not the call', async () => {
    const templates = { ...TEMPLATES, encounter: 'Encounter/{{context.encounterId}}' };
    const data = await gatherPatientData(request(BIG, { templates, fhirServer: open.url }));
    assert.equal(data.keys.encounter!.status, 'unavailable');
    assert.match(data.keys.encounter!.reason ?? '', /context\.encounterId/);
  });
});

describe('gatherPatientData with a FHIR server that fails', () => {
  const BUDGET = 400;
  const failures: [string, (res: import('node:http').ServerResponse) => void][] = [
    ['answers 500', (res) => sendJson(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] })],
    ['answers 401', (res) => sendJson(res, 401, '')],
    ['answers malformed JSON', (res) => sendJson(res, 200, '{"resourceType": "Bundle", "entry": [')],
    ['answers HTML', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')],
    ['answers a read with a Bundle', (res) => sendJson(res, 200, searchset([patientOf(loadBundle(BIG))]))],
    ['answers JSON that is not FHIR', (res) => sendJson(res, 200, '[1,2,3]')],
    ['never answers', () => undefined],
    ['sends headers then stalls', (res) => res.writeHead(200, { 'content-type': 'application/fhir+json' }).write('{"resourceType":')],
  ];

  for (const [name, answer] of failures) {
    test(`a server that ${name}: 412 when the patient must come from it, within the budget`, async () => {
      const server = await startMisbehavingServer((_req, res) => answer(res));
      try {
        const t = performance.now();
        const e = await rejection(gatherPatientData(request(BIG, { fhirServer: server.url, accessToken: TOKEN, budgetMs: BUDGET })));
        assert.ok(performance.now() - t < BUDGET + 300, `took ${performance.now() - t} ms`);
        assert.equal(e.status, 412);
        assert.deepEqual(e.issue.expression, ['prefetch.patient']);
        assert.ok(!JSON.stringify(e.toOperationOutcome()).includes(TOKEN));
        assert.ok(server.seen.length > 0 && server.seen.every((s) => s.authorization === `Bearer ${TOKEN}`));
      } finally {
        await server.close();
      }
    });
  }

  test('a server that answers searches with a Patient instead of a Bundle: those keys are unavailable', async () => {
    const server = await startMisbehavingServer((_req, res) => sendJson(res, 200, patientOf(loadBundle(BIG))));
    try {
      const data = await gatherPatientData(request(BIG, { fhirServer: server.url, budgetMs: BUDGET }));
      assert.equal(data.keys.patient!.status, 'fetched');
      for (const key of ['observations', 'conditions', 'medications', 'allergies']) {
        assert.equal(data.keys[key]!.status, 'unavailable', key);
        assert.match(data.keys[key]!.reason ?? '', /answered a search with a Patient/);
      }
      assert.deepEqual(identities(data.resources), [`Patient/${BIG}`]);
    } finally {
      await server.close();
    }
  });

  test('a server that is down: optional keys unavailable, the prefetched patient still used', async () => {
    const server = await startMisbehavingServer(() => undefined);
    const url = server.url;
    await server.close();
    const t = performance.now();
    const data = await gatherPatientData(request(BIG, { prefetch: { patient: patientOf(loadBundle(BIG)) }, fhirServer: url, budgetMs: BUDGET }));
    assert.ok(performance.now() - t < BUDGET + 300);
    assert.equal(data.patient.id, BIG);
    for (const key of ['observations', 'conditions', 'medications', 'allergies']) {
      assert.equal(data.keys[key]!.status, 'unavailable', key);
      assert.match(data.keys[key]!.reason ?? '', /could not be reached/);
    }
  });

  test('a slow real FHIR server: 412 within the budget when the patient must be fetched', async () => {
    const slow = await startFixtureFhirServer({ patients: [BIG], delayMs: 2000 });
    try {
      const t = performance.now();
      const e = await rejection(gatherPatientData(request(BIG, { fhirServer: slow.url, budgetMs: BUDGET })));
      assert.ok(performance.now() - t < BUDGET + 300, `took ${performance.now() - t} ms`);
      assert.equal(e.status, 412);
      assert.match(e.message, /time budget/);
    } finally {
      await slow.close();
    }
  });
});
