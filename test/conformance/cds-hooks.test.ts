/**
 * CDS Hooks 2.0 service requirements, each named in the test that exercises it through the real
 * app (docs/conformance.md is generated from these names). Cards come from real fixture patients:
 * a scored risk card, a missing-data card with order suggestions, a not-applicable card.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startFhirServer } from '../../src/sandbox/fhir-server.ts';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { createTestClient, type TestClient } from '../support/test-client.ts';
import { lastRecordDate, loadBundle } from '../support/fixtures.ts';
import { hookRequest, prefetchFor } from '../support/ehr.ts';
import { assertSpecValidResponse } from '../support/card-rules.ts';
import { SignJWT, generateKeyPair } from 'jose';

const PUBLIC = 'http://riskcards.test';
const SERVICE = 'riskcards-ascvd-pce';
const SCORED = '0283b437-ef20-41bb-a026-b60a742d536a';
const PRIOR_MI = '51764196-d9e4-4713-86a5-7bdc6847bd01';
const TOKEN = 'conformance-access-token-1234';

let fhir: { url: string; close(): Promise<void> };
let t: TestApp;
let client: TestClient;
const cards: Record<'risk' | 'missing' | 'notApplicable', any> = { risk: undefined, missing: undefined, notApplicable: undefined };
let riskResponse: request.Response;

const path = `/cds-services/${SERVICE}`;
const call = async (body: unknown, p = path) => request(t.app).post(p).set('Authorization', `Bearer ${await client.token(p)}`).send(body as object);

before(async () => {
  fhir = await startFhirServer({ bundles: [SCORED, PRIOR_MI].map(loadBundle), accessToken: TOKEN });
  client = await createTestClient(PUBLIC, [fhir.url]);
  t = await buildTestApp({ authenticate: (log) => client.authenticate(log), env: { RISKCARDS_CORS_ORIGINS: 'https://ehr.example.org' } });
  const { fillPrefetch } = await import('../../src/client/cds-client.ts');
  const templates = t.services.find((s) => s.id === SERVICE)!.prefetch;
  t.setNow(lastRecordDate(loadBundle(SCORED)));
  const prefetch = await fillPrefetch(fhir.url, templates, { userId: 'Practitioner/1', patientId: SCORED }, TOKEN);
  riskResponse = await call(hookRequest(SCORED, { prefetch }));
  cards.risk = riskResponse.body.cards[0];
  const obs = prefetch.observations as { entry: { resource: { code: { coding: { code: string }[] } } }[] };
  const noLipids = { ...prefetch, observations: { ...obs, entry: obs.entry.filter((e) => !e.resource.code.coding.some((c) => ['2085-9', '2093-3'].includes(c.code))) } };
  cards.missing = (await call(hookRequest(SCORED, { prefetch: noLipids }))).body.cards[0];
  t.setNow(lastRecordDate(loadBundle(PRIOR_MI)));
  cards.notApplicable = (await call(hookRequest(PRIOR_MI, { fhirServer: fhir.url, fhirAuthorization: { access_token: TOKEN, token_type: 'Bearer' } }))).body.cards[0];
});
after(async () => {
  await t?.close();
  await fhir?.close();
});

describe('Discovery', () => {
  test('[cds-hooks_2.0#1][cds-hooks_2.0#4][cds-hooks_2.0#5][cds-hooks_2.0#6][cds-hooks_2.0#13] GET {baseUrl}/cds-services answers 200 with a JSON object holding an array of services', async () => {
    const res = await request(t.app).get('/cds-services').set('Authorization', `Bearer ${await client.token('/cds-services')}`).expect(200);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.ok(Array.isArray(res.body.services) && res.body.services.length >= 1);
  });

  test('[cds-hooks_2.0#7][cds-hooks_2.0#8][cds-hooks_2.0#9][cds-hooks_2.0#10][cds-hooks_2.0#29][cds-hooks_2.0#36] every service has hook, title, description, id and its prefetch templates under prefetch keys', async () => {
    const res = await request(t.app).get('/cds-services').set('Authorization', `Bearer ${await client.token('/cds-services')}`).expect(200);
    for (const s of res.body.services) {
      for (const k of ['hook', 'title', 'description', 'id']) assert.equal(typeof s[k], 'string', k);
      assert.ok(s.prefetch && Object.keys(s.prefetch).length > 0);
      for (const [key, template] of Object.entries(s.prefetch)) assert.ok(key && typeof template === 'string');
    }
  });

  test('[cds-hooks_2.0#55][cds-hooks_2.0#56][cds-hooks_2.0#57][cds-hooks_2.0#59] prefetch tokens are {{ }}-delimited root-level context fields (context.name) or user identifiers', async () => {
    const res = await request(t.app).get('/cds-services').set('Authorization', `Bearer ${await client.token('/cds-services')}`).expect(200);
    for (const s of res.body.services) {
      for (const template of Object.values(s.prefetch) as string[]) {
        assert.ok(!/\{(?!\{)|[^}]\}(?!\})/.test(template.replace(/\{\{[^{}]*\}\}/g, '')), 'no stray braces');
        for (const m of template.matchAll(/\{\{([^{}]*)\}\}/g)) assert.match(m[1]!.trim(), /^(context\.[A-Za-z]+|userPractitionerId|userPractitionerRoleId|userPatientId|userRelatedPersonId)$/);
      }
    }
  });
});

describe('Calling a service', () => {
  test('[cds-hooks_2.0#16][cds-hooks_2.0#74][cds-hooks_2.0#75] POST {baseUrl}/cds-services/{id} answers 200 with an object holding a cards array (systemActions optional, not sent)', () => {
    assert.equal(riskResponse.status, 200);
    assert.ok(Array.isArray(riskResponse.body.cards));
    assert.equal(riskResponse.body.systemActions, undefined);
  });

  test('[cds-hooks_2.0#52] a prefetched OperationOutcome counts as unavailable: without a FHIR server to fetch from, 412', async () => {
    const res = await call(hookRequest(SCORED, { prefetch: { patient: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] } } }));
    assert.equal(res.status, 412);
    assert.equal(res.body.resourceType, 'OperationOutcome');
  });

  test('[cds-hooks_2.0#58] prefetch queries use only the recommended subset: reads, and searches by patient, code, status', async () => {
    const res = await request(t.app).get('/cds-services').set('Authorization', `Bearer ${await client.token('/cds-services')}`).expect(200);
    for (const s of res.body.services) {
      for (const template of Object.values(s.prefetch) as string[]) {
        const [, query] = template.split('?');
        for (const param of new URLSearchParams(query ?? '').keys()) assert.ok(['patient', 'code', 'status', 'date', '_count'].includes(param), param);
      }
    }
  });

  test('[cds-hooks_2.0#54] data neither prefetched nor fetchable: 412', async () => {
    const res = await call(hookRequest(SCORED));
    assert.equal(res.status, 412);
    assert.equal(res.body.resourceType, 'OperationOutcome');
  });

  test('[cds-hooks_2.0#61][cds-hooks_2.0#34] the service presents the access token to the FHIR server with each call (a wrong token gets no data)', async () => {
    t.setNow(lastRecordDate(loadBundle(SCORED)));
    const good = await call(hookRequest(SCORED, { fhirServer: fhir.url, fhirAuthorization: { access_token: TOKEN, token_type: 'Bearer' } }));
    assert.equal(good.status, 200);
    assert.ok(good.body.cards[0].extension);
    const bad = await call(hookRequest(SCORED, { fhirServer: fhir.url, fhirAuthorization: { access_token: 'wrong', token_type: 'Bearer' } }));
    assert.equal(bad.status, 412);
  });

  test('[cds-hooks_2.0#3] no JSON element is null or empty in any card the service sends', () => {
    assertSpecValidResponse({ cards: [cards.risk, cards.missing, cards.notApplicable] }, PUBLIC);
  });
});

describe('Cards', () => {
  test('[cds-hooks_2.0#80][cds-hooks_2.0#83][cds-hooks_2.0#85][cds-hooks_2.0#87][cds-hooks_2.0#88][cds-hooks_2.0#90] every card: uuid string, summary under 140 characters, markdown detail, indicator info|warning|critical, a source', () => {
    for (const c of Object.values(cards)) {
      assert.equal(typeof c.uuid, 'string');
      assert.ok(c.summary.length < 140);
      assert.equal(typeof c.detail, 'string');
      assert.ok(!/<[a-z]/i.test(c.detail), 'markdown, no raw HTML');
      assert.ok(['info', 'warning', 'critical'].includes(c.indicator));
      assert.equal(typeof c.source, 'object');
    }
    assert.equal(new Set(Object.values(cards).map((c) => c.uuid)).size, 3, 'uuids are unique');
  });

  test('[cds-hooks_2.0#105][cds-hooks_2.0#107][cds-hooks_2.0#115][cds-hooks_2.0#216][cds-hooks_2.0#217][cds-hooks_2.0#218][cds-hooks_2.0#220] source: label string, absolute url, topic a Coding with system and code', () => {
    for (const c of Object.values(cards)) {
      assert.equal(typeof c.source.label, 'string');
      assert.ok(new URL(c.source.url).protocol.startsWith('http'));
      assert.equal(typeof c.source.topic.system, 'string');
      assert.equal(typeof c.source.topic.code, 'string');
    }
  });

  test('[cds-hooks_2.0#98][cds-hooks_2.0#100][cds-hooks_2.0#136][cds-hooks_2.0#219] override reasons: an array of Codings, each with system, code and a human-readable display', () => {
    for (const c of [cards.risk, cards.missing]) {
      assert.ok(Array.isArray(c.overrideReasons) && c.overrideReasons.length > 0);
      for (const r of c.overrideReasons) for (const k of ['system', 'code', 'display']) assert.ok(typeof r[k] === 'string' && r[k].length > 0, k);
    }
  });

  test('[cds-hooks_2.0#103][cds-hooks_2.0#146][cds-hooks_2.0#138][cds-hooks_2.0#139][cds-hooks_2.0#141][cds-hooks_2.0#142][cds-hooks_2.0#147] links: an array of {label, absolute url, type absolute|smart}, no appContext on absolute links', () => {
    for (const c of Object.values(cards)) {
      assert.ok(Array.isArray(c.links));
      for (const l of c.links) {
        assert.equal(typeof l.label, 'string');
        assert.ok(new URL(l.url).href.startsWith(PUBLIC));
        assert.ok(['absolute', 'smart'].includes(l.type));
        if (l.type === 'absolute') assert.equal(l.appContext, undefined);
      }
    }
  });

  test('[cds-hooks_2.0#92][cds-hooks_2.0#93][cds-hooks_2.0#95][cds-hooks_2.0#96][cds-hooks_2.0#117][cds-hooks_2.0#119][cds-hooks_2.0#121][cds-hooks_2.0#124] suggestions: an array with selectionBehavior (string, at-most-one|any); each with a label, a uuid string, a boolean isRecommended and an actions array', () => {
    const c = cards.missing;
    assert.ok(Array.isArray(c.suggestions) && c.suggestions.length > 0);
    assert.ok(['at-most-one', 'any'].includes(c.selectionBehavior));
    for (const s of c.suggestions) {
      assert.equal(typeof s.label, 'string');
      assert.equal(typeof s.uuid, 'string');
      assert.equal(typeof s.isRecommended, 'boolean');
      assert.ok(Array.isArray(s.actions));
    }
    for (const other of [cards.risk, cards.notApplicable]) assert.equal(other.selectionBehavior, undefined);
  });

  test('[cds-hooks_2.0#127][cds-hooks_2.0#128][cds-hooks_2.0#130][cds-hooks_2.0#131] actions: type create with a description and a new FHIR resource (no id) for the patient', () => {
    for (const s of cards.missing.suggestions) {
      for (const a of s.actions) {
        assert.equal(a.type, 'create');
        assert.equal(typeof a.description, 'string');
        assert.equal(a.resource.resourceType, 'ServiceRequest');
        assert.equal(a.resource.id, undefined);
        assert.equal(a.resource.subject.reference, `Patient/${SCORED}`);
      }
    }
  });

  test('[cds-hooks_2.0#214] extension values are pre-coordinated JSON objects', () => {
    for (const v of Object.values(cards.risk.extension)) assert.ok(typeof v === 'object' && v !== null);
  });

  test('[cds-hooks_2.0#110][cds-hooks_2.0#109] the drill-down of a prediction is a card link; the source url is the general model card', () => {
    assert.ok(cards.risk.links.some((l: { url: string }) => l.url.includes('/explanations/')));
    assert.ok(!cards.risk.source.url.includes('/explanations/'));
  });

  test('[cds-hooks_2.0#77] a patient the model does not apply to gets an info card saying why (the service definition may choose no card)', () => {
    assert.equal(cards.notApplicable.indicator, 'info');
    assert.match(cards.notApplicable.detail, /Prior ASCVD/);
  });
});

describe('Feedback', () => {
  test('accepting an order suggestion on the missing-data card is stored as feedback with acceptedSuggestions; overriding with a reason likewise', async () => {
    const fpath = `${path}/feedback`;
    const suggestion = cards.missing.suggestions[0].uuid;
    const at = new Date().toISOString();
    const accept = await call({ feedback: [{ card: cards.missing.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: suggestion }], outcomeTimestamp: at }] }, fpath);
    assert.equal(accept.status, 200);
    assert.deepEqual(accept.body, { stored: 1, duplicates: 0 });
    const again = await call({ feedback: [{ card: cards.missing.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: suggestion }], outcomeTimestamp: at }] }, fpath);
    assert.deepEqual(again.body, { stored: 0, duplicates: 1 }, 'idempotent');
    const reason = cards.risk.overrideReasons[0];
    const override = await call({ feedback: [{ card: cards.risk.uuid, outcome: 'overridden', overrideReason: { reason, userComment: 'discussed last week' }, outcomeTimestamp: at }] }, fpath);
    assert.equal(override.status, 200);
    const summary = await t.store.feedbackSummary();
    const row = summary.find((r) => r.serviceId === SERVICE)!;
    assert.equal(row.accepted, 1);
    assert.equal(row.overridden, 1);
    assert.equal(row.overrideReasons[reason.code], 1);
  });
});

describe('Security and CORS', () => {
  test('[cds-hooks_2.0#176][cds-hooks_2.0#177][cds-hooks_2.0#199][cds-hooks_2.0#205] calls are authenticated with a signed JWT; a client whose keys were shared out of band (no jku) is accepted, a call without a JWT is not', async () => {
    await request(t.app).post(path).send(hookRequest(SCORED)).expect(401);
    await request(t.app).get('/cds-services').expect(401);
    await request(t.app).get('/cds-services').set('Authorization', `Bearer ${await client.token('/cds-services')}`).expect(200);
  });

  test('[cds-hooks_2.0#201][cds-hooks_2.0#203][cds-hooks_2.0#195] JWTs signed with "none", a symmetric algorithm or a key outside the trusted-client allowlist are refused', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { iss: 'https://ehr.test', aud: `${PUBLIC}/cds-services`, exp: Math.floor(Date.now() / 1000) + 60, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() };
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: client.key.kid })}.${b64(claims)}.`;
    await request(t.app).get('/cds-services').set('Authorization', `Bearer ${none}`).expect(401);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: client.key.kid }).sign(new TextEncoder().encode('a shared secret of enough length!!'));
    await request(t.app).get('/cds-services').set('Authorization', `Bearer ${hs}`).expect(401);
    const { privateKey } = await generateKeyPair('ES384');
    const stranger = await new SignJWT({ ...claims, jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'ES384', kid: client.key.kid }).sign(privateKey);
    await request(t.app).get('/cds-services').set('Authorization', `Bearer ${stranger}`).expect(401);
  });

  test('[cds-hooks_2.0#208] CORS: a browser client at an allowed origin gets its preflight answered without a JWT', async () => {
    const res = await request(t.app).options(path).set('Origin', 'https://ehr.example.org').set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'authorization, content-type').expect(204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://ehr.example.org');
    assert.match(res.headers['access-control-allow-headers'] ?? '', /Authorization/);
  });
});
