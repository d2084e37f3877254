/**
 * What `npm start` runs: scripts/build.mjs bundles the service into plain JavaScript, and the
 * built entry starts with the embedded store (its worker thread loaded from the built
 * store-worker.js, no tsx), answers a hook from a FHIR server on loopback with a scored card,
 * and stops cleanly on SIGTERM.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startFixtureFhirServer } from '../support/fhir-server.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const OUT = `test-artifacts/build-${process.pid}`;
const PATIENT = 'a5d58f24-9689-4a44-a377-32708cae064c';

after(() => rmSync(join(ROOT, OUT), { recursive: true, force: true }));

test('the built service starts, answers patient-view with a risk card and stops on SIGTERM', async () => {
  execFileSync(process.execPath, ['scripts/build.mjs', '--outdir', OUT], { cwd: ROOT, stdio: 'pipe' });
  const fhir = await startFixtureFhirServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-built-'));
  // No tsx anywhere: the plain node binary on the built file.
  const child = spawn(process.execPath, [join(OUT, 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', RISKCARDS_AUTH: 'off', RISKCARDS_DATA_DIR: dataDir, RISKCARDS_NOW: '2020-11-19', RISKCARDS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const ready = await new Promise<{ port: number; storeAtMs: number }>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split('\n')) {
          if (line.includes('"msg":"ready"')) resolve(JSON.parse(line) as { port: number; storeAtMs: number });
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
    });
    assert.ok(ready.port > 0);
    assert.ok(ready.storeAtMs > 0, 'the store was opened');
    const base = `http://127.0.0.1:${ready.port}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const res = await fetch(`${base}/cds-services/riskcards-ascvd-pce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook: 'patient-view', hookInstance: '0b6d7f0a-5d2f-4c0e-9d52-5a3b1c1d2e3f', fhirServer: fhir.url, context: { userId: 'Practitioner/example', patientId: PATIENT } }),
    });
    const body = (await res.json()) as { cards: { extension?: Record<string, { risk?: number }> }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    const risk = body.cards[0]?.extension?.['riskcards.prediction']?.risk;
    assert.ok(typeof risk === 'number' && risk > 0 && risk < 1, `a scored card: ${JSON.stringify(body).slice(0, 300)}`);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /Error/);
  } finally {
    child.kill('SIGKILL');
    await fhir.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
