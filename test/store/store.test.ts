/**
 * The store, against both engines it supports: embedded PGlite in a temp folder and a real
 * PostgreSQL server (127.0.0.1:5432, database "test"; CI starts it). A connection failure fails
 * the PostgreSQL tests: it never skips them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { openStore, type Store } from '../../src/store/store.ts';
import { openStoreInThread } from '../../src/store/store-thread.ts';

const PG_URL = process.env.RISKCARDS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function freshSchemaUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `rc_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

interface Harness {
  store: Store;
  reopen(): Promise<Store>;
  /** Reads tables behind the store's back; PGlite allows one opener, so call it with the store closed. */
  rawQuery<T>(text: string): Promise<T[]>;
  cleanup(): Promise<void>;
}

/** PGlite in a temp folder, opened with `openWith`; raw reads open the folder directly. */
function pgliteEngine(name: string, openWith: (dataDir: string) => Promise<Store>): { name: string; open(): Promise<Harness> } {
  return {
    name,
    open: async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'rc-store-'));
      return {
        store: await openWith(dataDir),
        reopen: () => openWith(dataDir),
        rawQuery: async <T,>(text: string) => {
          const db = await PGlite.create(dataDir);
          try {
            return (await db.query<T>(text)).rows;
          } finally {
            await db.close();
          }
        },
        cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
      };
    },
  };
}

const engines: { name: string; open(): Promise<Harness> }[] = [
  pgliteEngine('PGlite (embedded)', (dataDir) => openStore({ dataDir })),
  // What the service runs: the embedded engine in its own worker thread.
  pgliteEngine('PGlite in a worker thread', (dataDir) => openStoreInThread({ dataDir })),
  {
    name: 'PostgreSQL server',
    open: async () => {
      const s = await freshSchemaUrl();
      return {
        store: await openStore({ dataDir: '', databaseUrl: s.url }),
        reopen: () => openStore({ dataDir: '', databaseUrl: s.url }),
        rawQuery: async <T,>(text: string) => {
          const c = new pg.Client({ connectionString: s.url });
          await c.connect();
          try {
            return (await c.query(text)).rows as T[];
          } finally {
            await c.end();
          }
        },
        cleanup: s.drop,
      };
    },
  },
];

for (const engine of engines) {
  describe(`store on ${engine.name}`, () => {
    let h: Harness;
    before(async () => {
      h = await engine.open();
    });
    after(async () => {
      await h?.store.close();
      await h?.cleanup();
    });

    test('feedback is idempotent on card uuid, outcome and timestamp', async () => {
      const card = randomUUID();
      const item = { card, outcome: 'accepted' as const, outcomeTimestamp: '2026-01-01T10:00:00Z' };
      assert.deepEqual(await h.store.recordFeedback('svc', [item]), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await h.store.recordFeedback('svc', [item, { ...item, outcomeTimestamp: '2026-01-01T10:00:01Z' }]), { inserted: 1, duplicates: 1 });
    });

    test('feedback summary gives accept/override counts and reasons per service and model version', async () => {
      const card = randomUUID();
      await h.store.recordAudit({ time: new Date(), serviceId: 'svc-sum', modelId: 'm', modelVersion: '9.9', risk: 0.1, cardUuids: [card], latencyMs: 5, status: 200, outcome: 'card' });
      await h.store.recordFeedback('svc-sum', [
        { card, outcome: 'overridden', overrideReason: { reason: { code: 'not-now', display: 'Not now' } }, outcomeTimestamp: '2026-01-01T10:00:00Z' },
        { card, outcome: 'accepted', outcomeTimestamp: '2026-01-01T10:05:00Z' },
      ]);
      const row = (await h.store.feedbackSummary()).find((r) => r.serviceId === 'svc-sum')!;
      assert.deepEqual(row, { serviceId: 'svc-sum', modelVersion: '9.9', accepted: 1, overridden: 1, overrideReasons: { 'not-now': 1 } });
    });

    test('a jti is accepted once; concurrent replays get exactly one true', async () => {
      const exp = new Date(Date.now() + 60_000);
      const jti = randomUUID();
      const results = await Promise.all(Array.from({ length: 8 }, () => h.store.rememberJti('https://ehr', jti, exp)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await h.store.rememberJti('https://other', jti, exp), true, 'jti is per issuer');
    });

    test('an expired jti may be used again, a live one may not', async () => {
      const jti = randomUUID();
      assert.equal(await h.store.rememberJti('https://ehr', jti, new Date(Date.now() - 1000)), true);
      assert.equal(await h.store.rememberJti('https://ehr', jti, new Date(Date.now() + 60_000)), true, 'the earlier entry had expired');
      assert.equal(await h.store.rememberJti('https://ehr', jti, new Date(Date.now() + 60_000)), false, 'now it is live: a replay');
    });

    test('explanations expire', async () => {
      await h.store.saveExplanation('live-explanation-0001', { a: 1 }, new Date(Date.now() + 60_000));
      await h.store.saveExplanation('dead-explanation-0001', { a: 2 }, new Date(Date.now() - 1000));
      assert.deepEqual(await h.store.loadExplanation('live-explanation-0001'), { a: 1 });
      assert.equal(await h.store.loadExplanation('dead-explanation-0001'), null);
    });

    test('an explanation reads back whole once written out, nested values and text intact', async () => {
      const payload = { prediction: { risk: 0.0712, inputs: [{ id: 'hdl', value: 52.5, unit: 'mg/dL', note: 'quote " backslash \\ <b>' }] }, createdAt: '2026-01-01T00:00:00Z' };
      await h.store.saveExplanation('written-explanation-01', payload, new Date(Date.now() + 60_000));
      await h.store.flush();
      assert.deepEqual(await h.store.loadExplanation('written-explanation-01'), payload);
    });

    test('migrations run again safely; feedback and audit rows survive a reopen as written', async () => {
      const card = randomUUID();
      const hookInstance = randomUUID();
      const time = new Date('2026-02-01T00:00:00.123Z');
      await h.store.recordFeedback('svc', [{ card, outcome: 'accepted', outcomeTimestamp: '2026-02-01T00:00:00Z' }], { iss: 'https://ehr', sub: 'client-1', tenant: 't1' });
      await h.store.recordAudit({ time, clientIss: 'https://ehr', clientSub: 'client-1', tenant: 't1', serviceId: 'svc', hookInstance, modelId: 'pce-ascvd', modelVersion: '1.0.0', patientHash: 'ab'.repeat(32), risk: 0.125, cardUuids: [card, 'second'], latencyMs: 12.5, status: 200, outcome: 'card' });
      await h.store.recordAudit({ time, serviceId: 'svc', hookInstance, modelId: 'pce-ascvd', modelVersion: '1.0.0', risk: null, cardUuids: [], latencyMs: 3, status: 412, outcome: 'insufficient-data' });
      await h.store.close();
      const audit = await h.rawQuery<Record<string, unknown>>(`select * from rc_audit where hook_instance = '${hookInstance}' order by status`);
      assert.equal(audit.length, 2);
      const [ok, missing] = audit;
      assert.equal(new Date(ok!.time as string).toISOString(), time.toISOString());
      assert.deepEqual(
        [ok!.client_iss, ok!.client_sub, ok!.tenant, ok!.model_id, ok!.model_version, ok!.patient_hash, ok!.risk, ok!.card_uuids, ok!.latency_ms, ok!.status, ok!.outcome],
        ['https://ehr', 'client-1', 't1', 'pce-ascvd', '1.0.0', 'ab'.repeat(32), 0.125, [card, 'second'], 12.5, 200, 'card'],
      );
      assert.deepEqual([missing!.client_iss, missing!.risk, missing!.card_uuids, missing!.status, missing!.outcome], [null, null, [], 412, 'insufficient-data']);
      const fb = await h.rawQuery<Record<string, unknown>>(`select client_iss, client_sub, tenant from rc_feedback where card_uuid = '${card}'`);
      assert.deepEqual(fb, [{ client_iss: 'https://ehr', client_sub: 'client-1', tenant: 't1' }]);
      h.store = await h.reopen();
      assert.deepEqual(await h.store.recordFeedback('svc', [{ card, outcome: 'accepted', outcomeTimestamp: '2026-02-01T00:00:00Z' }]), { inserted: 0, duplicates: 1 });
      await h.store.ping();
    });
  });
}

test('replicas opening one fresh PostgreSQL schema at once migrate it exactly once', async () => {
  const s = await freshSchemaUrl();
  try {
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ dataDir: '', databaseUrl: s.url })));
    await Promise.all(stores.map((st) => st.close()));
    const c = new pg.Client({ connectionString: s.url });
    await c.connect();
    try {
      const { rows } = await c.query('select id from rc_migrations order by id');
      assert.deepEqual(rows.map((r) => r.id), [1, 2]);
    } finally {
      await c.end();
    }
  } finally {
    await s.drop();
  }
});

test('a PostgreSQL server that cannot be reached fails openStore instead of starting without a store', async () => {
  await assert.rejects(openStore({ dataDir: '', databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }));
});

test('in a worker thread too, a store that cannot open fails the open with the reason', async () => {
  await assert.rejects(openStoreInThread({ dataDir: '', databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }), /ECONNREFUSED|connect/);
});

test('calls to a closed thread store are refused, not left waiting', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-store-'));
  try {
    const store = await openStoreInThread({ dataDir });
    await store.close();
    await assert.rejects(store.ping(), /closed/);
    await assert.rejects(store.recordFeedback('svc', [{ card: randomUUID(), outcome: 'accepted', outcomeTimestamp: '2026-01-01T00:00:00Z' }]), /closed/);
    await assert.rejects(store.recordAudit({ time: new Date(), serviceId: 's', modelId: 'm', modelVersion: '1', risk: null, cardUuids: [], latencyMs: 1, status: 200, outcome: 'card' }), /closed/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('audit rows posted to the thread are written out on close', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-store-'));
  try {
    const store = await openStoreInThread({ dataDir });
    const hookInstance = randomUUID();
    for (let i = 0; i < 300; i++) await store.recordAudit({ time: new Date(), serviceId: 's', hookInstance, modelId: 'm', modelVersion: '1', risk: i / 1000, cardUuids: [randomUUID()], latencyMs: 1, status: 200, outcome: 'card' });
    await store.close();
    const db = await PGlite.create(dataDir);
    try {
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from rc_audit where hook_instance = '${hookInstance}'`);
      assert.equal(rows[0]!.n, 300);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the embedded engine runs with 16 MB of shared buffers, kept in its folder (memory and start-up budget)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-store-'));
  try {
    const store = await openStore({ dataDir });
    await store.close();
    const db = await PGlite.create(dataDir);
    try {
      const { rows } = await db.query<{ shared_buffers: string }>('show shared_buffers');
      assert.equal(rows[0]!.shared_buffers, '16MB');
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
