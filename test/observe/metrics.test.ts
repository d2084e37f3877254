/**
 * /metrics after a test load shows every series: latency per service and stage, cards by
 * indicator, input quality per feature, feedback outcomes and override reasons, and drift.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildTestApp, bundledModels, type TestApp } from '../support/test-app.ts';
import { Metrics } from '../../src/observe/metrics.ts';
import { loadTrainingDistributions } from '../../src/observe/training-distributions.ts';
import { populationStabilityIndex, binIndex } from '../../src/observe/drift.ts';
import { fixturePatientIds, lastRecordDate, loadBundle, resourcesOf } from '../support/fixtures.ts';
import { hookRequest } from '../support/ehr.ts';

let t: TestApp;
before(async () => {
  t = await buildTestApp({ metrics: new Metrics(loadTrainingDistributions(await bundledModels())) });
});
after(async () => {
  await t?.close();
});

function prefetchOf(id: string) {
  const rs = resourcesOf(loadBundle(id));
  const bundle = (type: string) => ({ resourceType: 'Bundle', type: 'searchset', entry: rs.filter((r) => r.resourceType === type).map((resource) => ({ resource })) });
  return { patient: rs.find((r) => r.resourceType === 'Patient'), observations: bundle('Observation'), conditions: bundle('Condition'), medications: bundle('MedicationRequest'), procedures: bundle('Procedure') };
}

test('after a test load /metrics shows latency, stages, cards, input quality, feedback and drift with values', async () => {
  let feedbackSent = false;
  for (const id of fixturePatientIds().slice(0, 12)) {
    t.setNow(lastRecordDate(loadBundle(id)));
    for (const service of t.services) {
      const res = await request(t.app).post(`/cds-services/${service.id}`).send(hookRequest(id, { prefetch: prefetchOf(id) }));
      assert.equal(res.status, 200);
      const card = res.body.cards[0];
      if (card && !feedbackSent) {
        await request(t.app).post(`/cds-services/${service.id}/feedback`).send({ feedback: [{ card: card.uuid, outcome: 'overridden', overrideReason: { reason: { system: 'urn:riskcards:override-reason', code: 'not-now', display: 'Not relevant to this visit' } }, outcomeTimestamp: new Date().toISOString() }] }).expect(200);
        feedbackSent = true;
      }
    }
  }
  const text = (await request(t.app).get('/metrics').expect(200)).text;
  const value = (re: RegExp) => {
    const m = text.match(re);
    return m ? Number(m[1]) : NaN;
  };
  assert.ok(value(/riskcards_service_duration_seconds_count\{service="riskcards-ascvd-pce",status="200"\} (\d+)/) >= 12);
  for (const stage of ['data', 'features', 'cards']) assert.ok(value(new RegExp(`riskcards_stage_duration_seconds_count\\{service="riskcards-ascvd-pce",stage="${stage}"\\} (\\d+)`)) >= 1, stage);
  assert.ok(value(/riskcards_stage_duration_seconds_count\{service="riskcards-ascvd-pce",stage="explanation"\} (\d+)/) >= 1);
  assert.match(text, /riskcards_cards_total\{service="riskcards-ascvd-pce",indicator="(info|warning|critical)",outcome="card"\} \d+/);
  assert.match(text, /riskcards_inputs_total\{model="pce-ascvd",feature="hdl_cholesterol"\} \d+/);
  assert.match(text, /riskcards_input_quality_total\{model="pce-ascvd",feature="[a-z_]+",flag="(stale|imputed|missing|converted|out-of-range)"\} \d+/);
  assert.match(text, /riskcards_feedback_total\{service="[^"]+",outcome="overridden"\} 1/);
  assert.match(text, /riskcards_override_reasons_total\{service="[^"]+",reason="not-now"\} 1/);
  assert.match(text, /riskcards_http_request_duration_seconds_count\{route="[^"]+",method="POST",status="200"\} \d+/);
  assert.match(text, /riskcards_drift_psi\{model="[^"]+",feature="[^"]+"\} [0-9.e+-]+/);
});

test('PSI is 0 for the training distribution itself and grows with a shift', () => {
  const d = { edges: [10, 20, 30], proportions: [0.25, 0.25, 0.25, 0.25] };
  assert.equal(binIndex(d.edges, 5), 0);
  assert.equal(binIndex(d.edges, 10), 1);
  assert.equal(binIndex(d.edges, 35), 3);
  const same = [5, 15, 25, 35, 6, 16, 26, 36];
  assert.ok(Math.abs(populationStabilityIndex(d, same)) < 1e-12);
  const shifted = [35, 36, 37, 38, 39, 25, 26, 27];
  assert.ok(populationStabilityIndex(d, shifted) > 0.25);
});
