/**
 * The riskcards command as a user runs it: help with examples, scoring a Bulk Data export
 * (one row per patient), validating model packages, making keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixturePatientIds, loadBundle } from '../support/fixtures.ts';
import { writeBulkExport } from '../support/bulk-export.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const cli = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin/riskcards.js'), ...args], { cwd: ROOT, maxBuffer: 10 * 1024 * 1024 });

test('every command explains itself with an example', async () => {
  for (const cmd of ['serve', 'call', 'keys', 'score', 'validate', 'report']) {
    const { stdout } = await cli(cmd, '--help');
    assert.match(stdout, /Example/, cmd);
  }
});

test('score writes one row per patient of a Bulk Data export, with risk, category, top factors or what is missing', async () => {
  const ids = fixturePatientIds();
  const dir = writeBulkExport(ids.map(loadBundle));
  const out = join(mkdtempSync(join(tmpdir(), 'rc-score-')), 'risks.ndjson');
  await cli('score', dir, '--now', '2021-04-01', '--format', 'ndjson', '--out', out);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, ids.length);
  assert.deepEqual(new Set(rows.map((r) => r.patientId)), new Set(ids));
  const scored = rows.filter((r) => r.status === 'scored');
  assert.ok(scored.length >= 5, `${scored.length} scored`);
  for (const r of scored) {
    assert.ok(r.risk > 0 && r.risk < 1);
    assert.ok(['low', 'borderline', 'intermediate', 'high'].includes(r.category));
    assert.ok(r.topFactors.length >= 1);
  }
  for (const r of rows.filter((x) => x.status === 'insufficient-data')) assert.ok(r.missing.length >= 1);
  for (const r of rows.filter((x) => x.status === 'not-applicable')) assert.ok(r.reasons.length >= 1);

  const { stdout: csv } = await cli('score', dir, '--now', '2021-04-01');
  assert.equal(csv.trim().split('\n').length, ids.length + 1, 'CSV: a header and one line per patient');
});

test('validate accepts the bundled packages and names each problem of a tampered one', async () => {
  const { stdout } = await cli('validate', join(ROOT, 'models/pce-ascvd'));
  assert.match(stdout, /valid/);
  const broken = mkdtempSync(join(tmpdir(), 'rc-broken-'));
  cpSync(join(ROOT, 'models/pce-ascvd'), broken, { recursive: true });
  const onnx = readFileSync(join(broken, 'model.onnx'));
  onnx[onnx.length - 10] = onnx[onnx.length - 10]! ^ 0xff;
  writeFileSync(join(broken, 'model.onnx'), onnx);
  await assert.rejects(cli('validate', broken), (e: { stdout: string; code: number }) => {
    assert.equal(e.code, 1);
    assert.match(e.stdout, /sha256/);
    return true;
  });
});

test('keys writes a private key and prints a trusted-client entry with the public JWKS only', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'rc-keys-')), 'key.json');
  const { stdout } = await cli('keys', '--out', file, '--iss', 'https://ehr.example.org');
  assert.ok(JSON.parse(readFileSync(file, 'utf8')).privateJwk.d, 'the key file holds the private key');
  const entry = JSON.parse(stdout.slice(stdout.lastIndexOf('{\n  "iss"')));
  assert.equal(entry.iss, 'https://ehr.example.org');
  assert.equal(entry.jwks.keys[0].d, undefined, 'no private part in the printed JWKS');
});
