/**
 * The store opened before the service loads (src/store/early-store.ts): log lines written before the
 * logger exists are delivered once it is bound; no early store without an embedded engine or a
 * valid configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStoreEarly } from '../../src/store/early-store.ts';

test('held store log lines reach the logger bound later; the store works', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-early-'));
  try {
    const early = openStoreEarly({ RISKCARDS_DATA_DIR: dataDir });
    assert.ok(early);
    assert.equal(early.dataDir, dataDir);
    const store = await early.opening;
    const lines: string[] = [];
    early.bindLog({ info: (_o, msg) => lines.push(`info ${msg}`), warn: (_o, msg) => lines.push(`warn ${msg}`) });
    assert.deepEqual(lines, ['info store schema migrated'], 'the migration line of a fresh folder, held until now');
    await store.ping();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('nothing starts early for a PostgreSQL server or a configuration with problems', () => {
  assert.equal(openStoreEarly({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }), undefined);
  assert.equal(openStoreEarly({ RISKCARDS_NO_SUCH_SETTING: '1' }), undefined);
});
