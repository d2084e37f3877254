/**
 * Logs without PHI: the full API runs with fixture patients (prefetch, fetch with an access
 * token, feedback, errors, authentication failures) and the captured logs are scanned for every
 * token, name, birth date and raw patient id the fixtures and the calls contain.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startFhirServer } from '../../src/sandbox/fhir-server.ts';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { createTestClient, type TestClient } from '../support/test-client.ts';
import { lastRecordDate, loadBundle, patientOf } from '../support/fixtures.ts';
import { hookRequest } from '../support/ehr.ts';
import { fillPrefetch } from '../../src/client/cds-client.ts';

const PUBLIC = 'http://riskcards.test';
const SERVICE = 'riskcards-ascvd-pce';
const IDS = ['0283b437-ef20-41bb-a026-b60a742d536a', '51764196-d9e4-4713-86a5-7bdc6847bd01', '030b3765-844c-4cc1-a36f-974c37895eee', 'fe0153b2-d2ce-418e-af79-5b84587ad82c'];
const ACCESS_TOKEN = 'fhir-access-token-7f3a9c1e5b2d4a6c';

let fhir: { url: string; close(): Promise<void> };
let t: TestApp;
let client: TestClient;
const secrets: string[] = [ACCESS_TOKEN];

before(async () => {
  fhir = await startFhirServer({ bundles: IDS.map(loadBundle), accessToken: ACCESS_TOKEN });
  client = await createTestClient(PUBLIC, [fhir.url]);
  t = await buildTestApp({ authenticate: (log) => client.authenticate(log), env: { RISKCARDS_LOG_LEVEL: 'debug' } });
});
after(async () => {
  await t?.close();
  await fhir?.close();
});

test('after a full run of the API, the logs hold no token, name, birth date or raw patient id', async () => {
  const path = `/cds-services/${SERVICE}`;
  for (const id of IDS) {
    const bundle = loadBundle(id);
    const p = patientOf(bundle);
    for (const n of p.name ?? []) secrets.push(...(n.given ?? []), ...(n.family ? [n.family] : []));
    secrets.push(p.birthDate!, id);
    t.setNow(lastRecordDate(bundle));

    const tok1 = await client.token(path);
    secrets.push(tok1, tok1.split('.')[2]!);
    const prefetch = await prefetchForWithToken(id);
    const r1 = await request(t.app).post(path).set('Authorization', `Bearer ${tok1}`).send(hookRequest(id, { prefetch }));
    assert.equal(r1.status, 200);

    const tok2 = await client.token(path);
    secrets.push(tok2);
    const r2 = await request(t.app)
      .post(path)
      .set('Authorization', `Bearer ${tok2}`)
      .send(hookRequest(id, { fhirServer: fhir.url, fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'riskcards' } }));
    assert.equal(r2.status, 200);

    // A replayed token, a bad context, feedback.
    await request(t.app).post(path).set('Authorization', `Bearer ${tok2}`).send(hookRequest(id)).expect(401);
    const tok3 = await client.token(path);
    await request(t.app).post(path).set('Authorization', `Bearer ${tok3}`).send(hookRequest(`Patient/${id}`)).expect(400);
    const uuid = r1.body.cards[0]?.uuid;
    if (uuid) {
      const fpath = `${path}/feedback`;
      const tok4 = await client.token(fpath);
      await request(t.app).post(fpath).set('Authorization', `Bearer ${tok4}`).send({ feedback: [{ card: uuid, outcome: 'accepted', outcomeTimestamp: new Date().toISOString() }] }).expect(200);
    }
  }
  const logs = t.logLines.join('\n');
  assert.ok(t.logLines.length > 10, 'the run produced log lines to scan');
  for (const s of secrets.filter((x) => x && x.length >= 4)) {
    assert.ok(!logs.includes(s), `the logs contain a secret or identifier (${s.slice(0, 3)}…)`);
  }
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(logs), 'no JWT-shaped string in the logs');
});

async function prefetchForWithToken(id: string): Promise<Record<string, unknown>> {
  const templates = t.services.find((s) => s.id === SERVICE)!.prefetch;
  return fillPrefetch(fhir.url, templates, { userId: 'Practitioner/example', patientId: id }, ACCESS_TOKEN);
}
