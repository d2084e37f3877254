/**
 * The nesting-depth limit on request bodies: jsonDepth against a plain recursive definition on
 * generated JSON, and the HTTP answer to a body nested past RISKCARDS_JSON_MAX_DEPTH.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { jsonDepth } from '../../src/http/json-body.ts';
import { buildTestApp, type TestApp } from '../support/test-app.ts';

function depthByDefinition(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthByDefinition));
}

const nested = (n: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
  return v;
};

test('jsonDepth equals the recursive definition on generated JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 12 }), (v) => {
      const parsed: unknown = JSON.parse(JSON.stringify(v));
      assert.equal(jsonDepth(parsed, 1000), depthByDefinition(parsed));
    }),
    { numRuns: 500 },
  );
  assert.equal(jsonDepth(nested(7), 1000), 7);
  assert.equal(jsonDepth(JSON.parse('{"__proto__": [[1]]}'), 1000), 3);
});

test('jsonDepth stops early past the limit, even on a body too deep for recursion', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
  assert.ok(jsonDepth(deep, 64) > 64);
  assert.equal(jsonDepth(nested(64), 64), 64);
});

let t: TestApp;
before(async () => {
  t = await buildTestApp({ env: { RISKCARDS_JSON_MAX_DEPTH: '16' } });
});
after(async () => t?.close());

test('a hook request nested deeper than the limit gets a 400 OperationOutcome, one within it does not', async () => {
  const body = (extra: unknown) => ({ hook: 'patient-view', hookInstance: 'd1b7a3c2-1111-4a4a-9b9b-000000000001', context: { userId: 'Practitioner/1', patientId: 'p1' }, extra });
  const deep = await request(t.app).post(`/cds-services/${t.services[0]!.id}`).send(body(nested(20)));
  assert.equal(deep.status, 400);
  assert.equal(deep.body.resourceType, 'OperationOutcome');
  assert.match(JSON.stringify(deep.body), /deeper than 16 levels/);
  const shallow = await request(t.app).post(`/cds-services/${t.services[0]!.id}`).send(body(nested(10)));
  assert.notEqual(shallow.status, 400, JSON.stringify(shallow.body));
});
