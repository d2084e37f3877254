/**
 * Every risk card links to the full explanation of its prediction: an opaque, expiring id (no
 * PHI in the URL) leading to a page with every input and its provenance, every contribution, what
 * would change the risk, and the model card.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';
import { hookRequest } from '../support/ehr.ts';

const ID = '0283b437-ef20-41bb-a026-b60a742d536a';
let t: TestApp;
before(async () => {
  t = await buildTestApp({ now: lastRecordDate(loadBundle(ID)) });
});
after(async () => {
  await t?.close();
});

test('the card links to an explanation page with every input, its source and contribution, reachable without PHI in the URL', async () => {
  const rs = resourcesOf(loadBundle(ID));
  const searchset = (type: string) => ({ resourceType: 'Bundle', type: 'searchset', entry: rs.filter((r) => r.resourceType === type).map((resource) => ({ resource })) });
  const prefetch = { patient: patientOf(loadBundle(ID)), observations: searchset('Observation'), conditions: searchset('Condition'), medications: searchset('MedicationRequest'), procedures: searchset('Procedure') };
  const res = await request(t.app).post('/cds-services/riskcards-ascvd-pce').send(hookRequest(ID, { prefetch })).expect(200);
  const card = res.body.cards[0];
  const link = card.links.find((l: { label: string }) => /explanation/i.test(l.label));
  assert.ok(link, 'a link to the full explanation');
  const url = new URL(link.url);
  assert.ok(!url.href.includes(ID) && !url.search, 'no patient id or query in the URL');
  assert.match(url.pathname, /^\/explanations\/[A-Za-z0-9_-]{16,}$/);
  const page = await request(t.app).get(url.pathname).expect(200);
  assert.match(page.headers['content-type'] ?? '', /text\/html/);
  assert.equal(page.headers['cache-control'], 'no-store');
  const p = card.extension['riskcards.prediction'];
  for (const input of p.inputs) assert.ok(page.text.includes(input.label.replace('&', '&amp;')), input.label);
  for (const i of p.inputs.filter((x: { source?: string }) => x.source)) assert.ok(page.text.includes(i.source), i.source);
  assert.match(page.text, /What would change it|pp/);
  assert.ok(!/<script/i.test(page.text));
  await request(t.app).get('/explanations/AAAAAAAAAAAAAAAAAAAAAAAA').expect(404);
  await request(t.app).get('/explanations/..%2F..%2Fetc').expect(404);
});
