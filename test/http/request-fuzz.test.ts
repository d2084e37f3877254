/**
 * Property test over request bodies (fast-check): 10,000 generated malformed or odd requests to
 * discovery, the service and feedback never get a 5xx, never crash the process, and always get
 * JSON back: cards or an OperationOutcome.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fc from 'fast-check';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { loadBundle, resourcesOf } from '../support/fixtures.ts';

const RUNS = Number(process.env.RISKCARDS_FUZZ_RUNS ?? 10_000);
const SERVICE = 'riskcards-ascvd-pce';
const ID = '0283b437-ef20-41bb-a026-b60a742d536a';
let t: TestApp;
let server: Server;
let base: string;

before(async () => {
  t = await buildTestApp({ now: new Date('2021-03-11') });
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server?.close();
  await t?.close();
});

const resources = resourcesOf(loadBundle(ID));
const valid = () => ({
  hook: 'patient-view',
  hookInstance: 'b1f0a0e4-8f54-4b7a-9d1e-0a9c3e6f1a11',
  context: { userId: 'Practitioner/1', patientId: ID },
  prefetch: {
    patient: resources.find((r) => r.resourceType === 'Patient'),
    observations: { resourceType: 'Bundle', type: 'searchset', entry: resources.filter((r) => r.resourceType === 'Observation').slice(0, 30).map((resource) => ({ resource })) },
  },
});

const anyJson = fc.jsonValue({ maxDepth: 4 });
const fieldPaths = ['hook', 'hookInstance', 'context', 'context.patientId', 'context.userId', 'prefetch', 'prefetch.patient', 'prefetch.observations', 'prefetch.observations.entry', 'fhirServer', 'fhirAuthorization', 'prefetch.patient.birthDate', 'prefetch.patient.gender'];

function setPath(obj: any, path: string, value: unknown): any {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k];
  }
  o[keys.at(-1)!] = value;
  return obj;
}

/** An observation with arbitrary shapes where the values and codes live. */
const oddObservation = fc.record({
  resourceType: fc.constant('Observation'),
  id: fc.string({ maxLength: 10 }),
  status: fc.oneof(fc.constantFrom('final', 'entered-in-error', 'amended'), anyJson),
  code: fc.oneof(fc.constant({ coding: [{ system: 'http://loinc.org', code: '2085-9' }] }), anyJson),
  subject: fc.oneof(fc.constant({ reference: `Patient/${ID}` }), anyJson),
  effectiveDateTime: fc.oneof(fc.constant('2020-01-01'), fc.string(), anyJson),
  valueQuantity: fc.oneof(fc.record({ value: fc.oneof(fc.double(), fc.integer(), fc.string()), unit: fc.oneof(fc.constantFrom('mg/dL', 'mmol/L', 'g', '%'), fc.string()), code: fc.string() }), anyJson),
});

const body = fc.oneof(
  anyJson,
  fc.tuple(fc.constantFrom(...fieldPaths), anyJson).map(([p, v]) => setPath(valid(), p, v)),
  fc.array(oddObservation, { maxLength: 5 }).map((obs) => {
    const b = valid();
    (b.prefetch.observations.entry as unknown[]).push(...obs.map((resource) => ({ resource })));
    return b;
  }),
);

const target = fc.constantFrom(`/cds-services/${SERVICE}`, `/cds-services/${SERVICE}/feedback`, '/cds-services', `/cds-services/${SERVICE}x`);

test(`${RUNS} generated requests: no 5xx, no crash, always JSON`, async () => {
  await fc.assert(
    fc.asyncProperty(target, body, async (path, b) => {
      const res = await fetch(`${base}${path}`, { method: path === '/cds-services' ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, ...(path === '/cds-services' ? {} : { body: JSON.stringify(b) }) });
      const text = await res.text();
      assert.ok(res.status < 500, `HTTP ${res.status} for ${path}: ${text.slice(0, 300)}`);
      const json = JSON.parse(text);
      assert.ok(Array.isArray(json.cards) || json.resourceType === 'OperationOutcome' || Array.isArray(json.services) || typeof json.stored === 'number', text.slice(0, 200));
    }),
    { numRuns: RUNS },
  );
});
