/**
 * `riskcards call` acting as an EHR against a running service with authentication on (its key made
 * by `riskcards keys` and listed as a trusted client), then `riskcards report` reading what
 * clinicians answered from the service's store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startService } from '../../src/main.ts';
import { signClientJwt } from '../../src/client/cds-client.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const ISS = 'urn:riskcards:test-cli';

test('call signs its JWT and prints the cards; report shows the feedback that followed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-cli-'));
  const keyFile = join(dir, 'key.json');
  const { stdout } = await run(process.execPath, [join(ROOT, 'bin/riskcards.js'), 'keys', '--out', keyFile, '--iss', ISS], { cwd: ROOT });
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([JSON.parse(stdout.slice(stdout.lastIndexOf('{\n  "iss"')))]));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = { PORT: String(port), RISKCARDS_PUBLIC_URL: `http://127.0.0.1:${port}`, RISKCARDS_TRUSTED_CLIENTS: join(dir, 'clients.json'), RISKCARDS_DATA_DIR: join(dir, 'data'), RISKCARDS_NOW: '2021-03-11', RISKCARDS_LOG_LEVEL: 'silent' };
  const svc = await startService(env);
  let cardUuid: string;
  try {
    const url = `http://127.0.0.1:${port}/cds-services/riskcards-ascvd-pce`;
    const bundle = join(ROOT, 'test/fixtures/synthea/0283b437-ef20-41bb-a026-b60a742d536a.json');
    const out = await run(process.execPath, [join(ROOT, 'bin/riskcards.js'), 'call', url, '--bundle', bundle, '--key', keyFile, '--iss', ISS, '--json'], { cwd: ROOT });
    const body = JSON.parse(out.stdout);
    assert.match(body.cards[0].summary, /ASCVD risk [\d.]+ %/);
    cardUuid = body.cards[0].uuid;
    const text = await run(process.execPath, [join(ROOT, 'bin/riskcards.js'), 'call', url, '--bundle', bundle, '--key', keyFile, '--iss', ISS], { cwd: ROOT });
    assert.match(text.stdout, /^\[(info|warning|critical)\] 10-year ASCVD risk/);
    await assert.rejects(run(process.execPath, [join(ROOT, 'bin/riskcards.js'), 'call', url, '--bundle', bundle], { cwd: ROOT }), 'no key: the service answers 401');

    const key = JSON.parse(readFileSync(keyFile, 'utf8'));
    const fpath = '/cds-services/riskcards-ascvd-pce/feedback';
    const token = await signClientJwt(key, { iss: ISS, aud: `http://127.0.0.1:${port}${fpath}` });
    const fb = await fetch(`http://127.0.0.1:${port}${fpath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ feedback: [{ card: cardUuid, outcome: 'overridden', overrideReason: { reason: { system: 'urn:riskcards:override-reason', code: 'not-now', display: 'Not relevant to this visit' } }, outcomeTimestamp: new Date().toISOString() }] }),
    });
    assert.equal(fb.status, 200);
  } finally {
    await svc.stop();
  }
  const report = await run(process.execPath, [join(ROOT, 'bin/riskcards.js'), 'report', '--json'], { cwd: ROOT, env: { ...process.env, RISKCARDS_DATA_DIR: join(dir, 'data') } });
  const rows = JSON.parse(report.stdout).services;
  const row = rows.find((r: { serviceId: string }) => r.serviceId === 'riskcards-ascvd-pce');
  assert.deepEqual({ overridden: row.overridden, accepted: row.accepted, reasons: row.overrideReasons, version: row.modelVersion }, { overridden: 1, accepted: 0, reasons: { 'not-now': 1 }, version: '1.0.0' });
});
