/**
 * Hardening seen from outside: per-client rate limit (429 with an OperationOutcome), CORS only
 * for configured origins and never "*" with credentials, security headers, the OpenAPI document.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/test-app.ts';

let t: TestApp;
before(async () => {
  t = await buildTestApp({ env: { RISKCARDS_RATE_LIMIT_PER_MINUTE: '3', RISKCARDS_CORS_ORIGINS: 'https://ehr.example.org' } });
});
after(async () => {
  await t?.close();
});

test('a client over its rate limit gets 429 with Retry-After and an OperationOutcome', async () => {
  for (let i = 0; i < 3; i++) await request(t.app).get('/cds-services').expect(200);
  const res = await request(t.app).get('/cds-services').expect(429);
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assert.equal(res.body.issue[0].code, 'throttled');
  assert.ok(Number(res.headers['retry-after']) > 0);
});

test('CORS answers configured origins only, never "*", never with credentials', async () => {
  const ok = await request(t.app).options('/cds-services').set('Origin', 'https://ehr.example.org').set('Access-Control-Request-Method', 'GET').expect(204);
  assert.equal(ok.headers['access-control-allow-origin'], 'https://ehr.example.org');
  assert.match(ok.headers['access-control-allow-headers'] ?? '', /Authorization/);
  assert.equal(ok.headers['access-control-allow-credentials'], undefined);
  const other = await request(t.app).options('/cds-services').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'GET').expect(204);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('helmet headers are set and the OpenAPI document lists every route and service', async () => {
  const res = await request(t.app).get('/openapi.json').expect(200);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.ok(res.headers['content-security-policy']);
  assert.equal(res.body.openapi, '3.1.0');
  for (const path of ['/cds-services', '/cds-services/{id}', '/cds-services/{id}/feedback', '/models', '/metrics', '/readyz', '/healthz']) assert.ok(res.body.paths[path], path);
  assert.deepEqual(res.body.paths['/cds-services/{id}'].post.parameters[0].schema.enum.sort(), t.services.map((s) => s.id).sort());
});
