import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../src/config.ts';

test('defaults: port 8080, auth on, embedded store in ./data, models and services in the repo', () => {
  const c = loadConfig({}, '/srv/app');
  assert.equal(c.port, 8080);
  assert.equal(c.auth, 'on');
  assert.equal(c.publicUrl, 'http://localhost:8080');
  assert.equal(c.dataDir, '/srv/app/data');
  assert.equal(c.modelsDir, '/srv/app/models');
  assert.equal(c.databaseUrl, undefined);
  assert.ok(Object.isFrozen(c));
});

test('PORT and RISKCARDS_* settings are read and the public URL loses its trailing slash', () => {
  const c = loadConfig({ PORT: '9000', RISKCARDS_PUBLIC_URL: 'https://cds.example.org/', RISKCARDS_AUTH: 'off', RISKCARDS_NOW: '2020-06-01', DATABASE_URL: 'postgres://u@h/db' });
  assert.equal(c.port, 9000);
  assert.equal(c.publicUrl, 'https://cds.example.org');
  assert.equal(c.auth, 'off');
  assert.equal(c.fixedNow?.toISOString(), '2020-06-01T00:00:00.000Z');
  assert.equal(c.databaseUrl, 'postgres://u@h/db');
});

test('every bad setting is named in one sentence each', () => {
  try {
    loadConfig({ PORT: 'eighty', RISKCARDS_AUTH: 'maybe', RISKCARDS_NOW: 'yesterday', RISKCARDS_TYPO: '1', DATABASE_URL: 'mysql://x' });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.problems.join('\n');
    for (const name of ['PORT', 'RISKCARDS_AUTH', 'RISKCARDS_NOW', 'RISKCARDS_TYPO', 'DATABASE_URL']) assert.match(text, new RegExp(name));
    assert.equal(e.problems.length, 5);
  }
});

test('CORS origins must be URLs or "*"', () => {
  assert.deepEqual(loadConfig({ RISKCARDS_CORS_ORIGINS: 'https://ehr.example.org, *' }).corsOrigins, ['https://ehr.example.org', '*']);
  assert.throws(() => loadConfig({ RISKCARDS_CORS_ORIGINS: 'not a url' }), ConfigError);
});
