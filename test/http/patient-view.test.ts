/**
 * The heart of the product end to end: an EHR posts patient-view for Synthea patients, with full
 * prefetch and without (the service fetches from a real FHIR server on loopback), and gets
 * explained, spec-valid cards whose risk equals the Pooled Cohort Equations computed
 * independently from the card's own inputs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startFixtureFhirServer } from '../support/fhir-server.ts';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { ageAt, fixturePatientIds, lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';
import { hookRequest, prefetchFor } from '../support/ehr.ts';
import { assertSpecValidResponse } from '../support/card-rules.ts';
import { pooledCohortRisk } from '../support/pooled-cohort-reference.ts';

const SERVICE = 'riskcards-ascvd-pce';
const PUBLIC = 'http://riskcards.test';
const PRIOR_ASCVD = new Set(['22298006', '399211009', '230690007', '53741008']);

let fhir: { url: string; close(): Promise<void> };
let t: TestApp;
const ids = fixturePatientIds();

before(async () => {
  fhir = await startFixtureFhirServer();
  t = await buildTestApp();
});
after(async () => {
  await t?.close();
  await fhir?.close();
});

function templates(): Record<string, string> {
  return t.services.find((s) => s.id === SERVICE)!.prefetch;
}

/** Card content that must not depend on how the data arrived (uuids and one-time links do). */
function content(card: any): unknown {
  const { uuid: _u, links: _l, ...rest } = card;
  return rest;
}

function hasCode(bundleId: string, type: string, codes: string[]): boolean {
  return resourcesOf(loadBundle(bundleId)).some((r: any) => r.resourceType === type && r.code?.coding?.some((c: any) => codes.includes(c.code)));
}

describe('patient-view for every fixture patient', () => {
  for (const id of ids) {
    test(`patient ${id.slice(0, 8)}: prefetch and fetch give the same explained card`, async () => {
      const bundle = loadBundle(id);
      const now = lastRecordDate(bundle);
      t.setNow(now);
      const prefetch = await prefetchFor(fhir.url, templates(), id);
      const withPrefetch = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { prefetch })).expect(200);
      const withFetch = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { fhirServer: fhir.url })).expect(200);
      assertSpecValidResponse(withPrefetch.body, PUBLIC);
      assertSpecValidResponse(withFetch.body, PUBLIC);
      assert.deepEqual(withFetch.body.cards.map(content), withPrefetch.body.cards.map(content));

      const age = ageAt(patientOf(bundle), now);
      const eligible = age >= 40 && age <= 79 && hasCode(id, 'Observation', ['2093-3']) && hasCode(id, 'Observation', ['2085-9']) && hasCode(id, 'Observation', ['55284-4', '85354-9']);
      if (!eligible) return;
      const [card] = withPrefetch.body.cards;
      assert.ok(card, 'a card for an eligible patient');
      if (hasCode(id, 'Condition', [...PRIOR_ASCVD])) {
        assert.equal(card.indicator, 'info');
        assert.match(card.detail, /ASCVD/i);
        assert.equal(card.extension, undefined, 'no score for prior ASCVD');
        return;
      }
      const p = card.extension?.['riskcards.prediction'];
      assert.ok(p, `a scored card: ${card.summary}`);
      const v = Object.fromEntries(p.inputs.map((i: any) => [i.feature, i.value]));
      const expected = pooledCohortRisk({
        age: v.age, female: v.female === 1, africanAmerican: v.african_american === 1, tc: v.total_cholesterol, hdl: v.hdl_cholesterol,
        sbp: v.systolic_bp, treated: v.bp_treated === 1, smoker: v.smoker === 1, diabetes: v.diabetes === 1,
      });
      assert.ok(Math.abs(p.risk - expected) < 1e-9, `risk ${p.risk} vs independent ${expected}`);
      const sum = p.referenceRisk + p.contributions.reduce((s: number, c: any) => s + c.contribution, 0);
      assert.ok(Math.abs(sum - p.risk) < 1e-9, 'contributions add up with the reference risk to the risk');
      assert.equal(p.inputs.length, 9, 'one input per model input');
      for (const i of p.inputs.filter((x: any) => ['total_cholesterol', 'hdl_cholesterol', 'systolic_bp'].includes(x.feature))) {
        assert.ok(i.effectiveDate && i.source?.startsWith('Observation/'), `${i.feature} has its date and source`);
      }
      assert.match(card.summary, /\d+(\.\d+)? %/);
      assert.match(card.detail, /\| Factor \| Value \| Date \| Contribution \|/);
    });
  }
});

describe('what a clinician sees when data are missing', () => {
  test('a patient with no HDL gets a card that says HDL is missing, with an order suggestion, not a 500 and not a guess', async () => {
    const id = '0283b437-ef20-41bb-a026-b60a742d536a';
    t.setNow(lastRecordDate(loadBundle(id)));
    const prefetch = await prefetchFor(fhir.url, templates(), id);
    const obs = prefetch.observations as any;
    obs.entry = obs.entry.filter((e: any) => !e.resource.code.coding.some((c: any) => c.code === '2085-9'));
    obs.total = obs.entry.length;
    const res = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { prefetch })).expect(200);
    assertSpecValidResponse(res.body, PUBLIC);
    const [card] = res.body.cards;
    assert.match(card.summary, /HDL/i);
    assert.match(card.detail, /HDL/);
    assert.equal(card.extension, undefined);
    assert.equal(card.selectionBehavior, 'any');
    const action = card.suggestions[0].actions[0];
    assert.equal(action.type, 'create');
    assert.equal(action.resource.resourceType, 'ServiceRequest');
    assert.equal(action.resource.subject.reference, `Patient/${id}`);
  });

  test('no data at all for a prefetch key (null, empty Bundle) is "no data", not an error', async () => {
    const id = '0283b437-ef20-41bb-a026-b60a742d536a';
    t.setNow(lastRecordDate(loadBundle(id)));
    const prefetch = await prefetchFor(fhir.url, templates(), id);
    prefetch.observations = null;
    prefetch.conditions = { resourceType: 'Bundle', type: 'searchset', total: 0 };
    const res = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { prefetch })).expect(200);
    assertSpecValidResponse(res.body, PUBLIC);
    assert.match(res.body.cards[0].summary, /missing/);
  });
});

describe('every status path answers with an OperationOutcome naming the problem', () => {
  test('discovery lists the service with its prefetch templates', async () => {
    const res = await request(t.app).get('/cds-services').expect(200);
    const s = res.body.services.find((x: any) => x.id === SERVICE);
    assert.equal(s.hook, 'patient-view');
    assert.match(s.prefetch.observations, /^Observation\?patient=\{\{context\.patientId\}\}&code=.*http:\/\/loinc\.org\|2085-9/);
  });

  const expectOutcome = (res: request.Response, status: number, field?: string) => {
    assert.equal(res.status, status);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    if (field) assert.deepEqual(res.body.issue[0].expression, [field]);
    assert.ok(!/at .*\.ts:\d+/.test(res.text), 'no stack trace');
  };

  test('unknown service: 404', async () => {
    expectOutcome(await request(t.app).post('/cds-services/nope').send(hookRequest('1')), 404);
  });
  test('malformed JSON: 400', async () => {
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).set('content-type', 'application/json').send('{"hook": '), 400, '$');
  });
  test('invalid context: 400 naming context.patientId', async () => {
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest('Patient/1')), 400, 'context.patientId');
  });
  test('a body that is not JSON: 400', async () => {
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).set('content-type', 'text/plain').send('hello'), 400);
  });
  test('no prefetch and no FHIR server: 412 naming the patient prefetch key', async () => {
    const res = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest('0283b437-ef20-41bb-a026-b60a742d536a'));
    expectOutcome(res, 412);
  });
  test('a body over the limit: 413', async () => {
    const big = { ...hookRequest('1'), pad: 'x'.repeat(t.config.bodyLimitBytes + 10) };
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).send(big), 413);
  });
  test('a body nested deeper than the limit: 400', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).send({ ...hookRequest('1'), deep }), 400, '$');
  });
  test('a FHIR server off the allowlist: 400 naming fhirServer', async () => {
    expectOutcome(await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest('1', { fhirServer: 'https://ehr.example.org/fhir' })), 400, 'fhirServer');
  });
  test('CORS preflight from an allowed origin needs no JWT', async () => {
    const res = await request(t.app).options(`/cds-services/${SERVICE}`).set('Origin', 'http://localhost:8081').set('Access-Control-Request-Method', 'POST').expect(204);
    assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:8081');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });
});
