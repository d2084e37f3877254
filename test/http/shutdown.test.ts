/**
 * Graceful shutdown: stopping the service lets an in-flight call finish with its answer, refuses
 * new connections, and closes the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../../src/main.ts';
import { startFixtureFhirServer } from '../support/fhir-server.ts';

test('an in-flight call finishes during shutdown; afterwards the port is closed and the store too', async () => {
  const fhir = await startFixtureFhirServer({ patients: ['0283b437-ef20-41bb-a026-b60a742d536a'], delayMs: 300 });
  const svc = await startService({
    PORT: '0',
    RISKCARDS_AUTH: 'off',
    RISKCARDS_DATA_DIR: mkdtempSync(join(tmpdir(), 'rc-shutdown-')),
    RISKCARDS_NOW: '2021-03-11',
    RISKCARDS_LOG_LEVEL: 'silent',
  });
  try {
    const inFlight = fetch(`${svc.url}/cds-services/riskcards-ascvd-pce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook: 'patient-view', hookInstance: crypto.randomUUID(), fhirServer: fhir.url, context: { userId: 'Practitioner/1', patientId: '0283b437-ef20-41bb-a026-b60a742d536a' } }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopping = svc.stop();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(Array.isArray((await res.json()).cards));
    await stopping;
    await assert.rejects(fetch(`${svc.url}/healthz`), 'no new connections after shutdown');
    await assert.rejects(svc.store.ping(), /closed/);
  } finally {
    await svc.stop();
    await fhir.close();
  }
});
