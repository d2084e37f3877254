/**
 * The PREVENT service: one card with the three 10-year risks (total CVD, ASCVD, heart failure),
 * each equal to the PREVENT equations computed independently from the card's own inputs, each
 * explained, and the same content whether the EHR prefetched the data or the service fetched it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startFixtureFhirServer } from '../support/fhir-server.ts';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { fixturePatientIds, lastRecordDate, loadBundle } from '../support/fixtures.ts';
import { hookRequest, prefetchFor } from '../support/ehr.ts';
import { assertSpecValidResponse } from '../support/card-rules.ts';
import { preventRisk } from '../support/prevent-reference.ts';

const SERVICE = 'riskcards-prevent';
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

test('every fixture patient: spec-valid answer, same with prefetch and fetch; scored cards hold three explained risks equal to PREVENT', async () => {
  const templates = t.services.find((s) => s.id === SERVICE)!.prefetch;
  let scored = 0;
  for (const id of ids) {
    t.setNow(lastRecordDate(loadBundle(id)));
    const prefetch = await prefetchFor(fhir.url, templates, id);
    const a = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { prefetch })).expect(200);
    const b = await request(t.app).post(`/cds-services/${SERVICE}`).send(hookRequest(id, { fhirServer: fhir.url })).expect(200);
    assertSpecValidResponse(a.body, 'http://riskcards.test');
    const strip = (c: any) => ({ ...c, uuid: undefined, links: undefined, suggestions: c.suggestions?.map((s: any) => ({ ...s, uuid: undefined })) });
    assert.deepEqual(b.body.cards.map(strip), a.body.cards.map(strip), id);
    const card = a.body.cards[0];
    const all = card?.extension?.['riskcards.predictions'];
    if (!all) continue;
    scored++;
    assert.deepEqual(all.map((p: any) => p.modelId), ['prevent-total-cvd', 'prevent-ascvd', 'prevent-hf']);
    assert.match(card.summary, /total CVD [\d.]+ %, ASCVD [\d.]+ %, heart failure [\d.]+ %/);
    const v = Object.fromEntries(all[0].inputs.map((i: any) => [i.feature, i.value]));
    const x = { female: v.female === 1, age: v.age, tc: v.total_cholesterol, hdl: v.hdl_cholesterol, sbp: v.systolic_bp, treated: v.bp_treated === 1, statin: v.statin === 1, diabetes: v.diabetes === 1, smoker: v.smoker === 1, egfr: v.egfr, bmi: v.bmi };
    const outcomes = ['total_cvd', 'ascvd', 'heart_failure'] as const;
    all.forEach((p: any, i: number) => {
      assert.ok(Math.abs(p.risk - preventRisk(outcomes[i]!, x)) < 1e-9, `${id} ${p.modelId}`);
      const sum = p.referenceRisk + p.contributions.reduce((s: number, c: any) => s + c.contribution, 0);
      assert.ok(Math.abs(sum - p.risk) < 1e-9);
    });
    const egfr = all[0].inputs.find((i: any) => i.feature === 'egfr');
    assert.ok(egfr.source, 'eGFR has its source (a recorded eGFR or the creatinine it was computed from)');
  }
  assert.ok(scored >= 5, `${scored} patients scored`);
});
