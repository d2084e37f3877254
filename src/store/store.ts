/**
 * Persistence for feedback, audit, JWT replay and explanation pages: one SQL, two engines.
 * Embedded default: PGlite (PostgreSQL in WebAssembly) in a data folder, so the service needs no
 * database server; with a DATABASE_URL, a PostgreSQL server through `pg`, so replicas share state.
 * Every write resolves only after COMMIT. PGlite runs with fsync off: an awaited write survives
 * SIGKILL of the process (tested), not a power loss of the machine.
 */
import { mkdirSync } from 'node:fs';
import type { FeedbackItem } from '../cds/feedback.ts';
import { MIGRATIONS } from './migrations.ts';

export interface AuditRecord {
  time: Date;
  clientIss?: string;
  clientSub?: string;
  tenant?: string;
  serviceId: string;
  hookInstance?: string;
  modelId: string;
  modelVersion: string;
  patientHash?: string;
  risk: number | null;
  cardUuids: string[];
  latencyMs: number;
  status: number;
  outcome: 'card' | 'no-card' | 'not-applicable' | 'insufficient-data' | 'error';
}

export interface FeedbackSummaryRow {
  serviceId: string;
  modelVersion?: string;
  accepted: number;
  overridden: number;
  overrideReasons: Record<string, number>;
}

export interface Store {
  recordFeedback(serviceId: string, items: readonly FeedbackItem[], client?: { iss: string; sub?: string; tenant?: string }): Promise<{ inserted: number; duplicates: number }>;
  /** Written behind the response in batches (flushed within 50 ms and on close). */
  recordAudit(rec: AuditRecord): Promise<void>;
  /** True the first time (iss, jti) is seen before it expires; false on a replay. Atomic across replicas. */
  rememberJti(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** Batched like audit rows; readable at once from this replica, from the others after the flush. */
  saveExplanation(id: string, payload: unknown, expiresAt: Date): Promise<void>;
  /** Writes out batched audit rows and explanations now. */
  flush(): Promise<void>;
  loadExplanation(id: string): Promise<unknown | null>;
  feedbackSummary(): Promise<FeedbackSummaryRow[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The few operations both engines offer. */
interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows: number }>;
  transaction<T>(fn: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function pgliteSql(dataDir: string): Promise<Sql> {
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(dataDir, { recursive: true });
  // PostgreSQL's default 128 MB of shared buffers are allocated and cleared inside the WebAssembly
  // memory at every start: with 16 MB (ample for these small tables), a warm open here takes
  // ~0.7 s instead of ~1.9 s and the process ~130 MB less memory. Written to the folder's
  // postgresql.conf, so a folder made by an earlier version gets it too.
  const db = await PGlite.create(dataDir, { postgresqlconf: ['shared_buffers=16MB'] });
  const wrap = (q: { query: typeof db.query }) => ({
    query: async <T>(text: string, params?: unknown[]) => {
      const r = await q.query<T>(text, params as never);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
  });
  return {
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx as never))),
    close: () => db.close(),
  };
}

async function postgresSql(url: string, log?: StoreLog): Promise<Sql> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection dropped by the server is emitted on the pool; unheard, it would end the process.
  pool.on('error', (err) => log?.warn?.({ err: err.message }, 'PostgreSQL connection lost; the pool reconnects on next use'));
  await pool.query('select 1');
  const query = async <T>(client: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }> }, text: string, params?: unknown[]) => {
    const r = await client.query(text, params);
    return { rows: r.rows as T[], affectedRows: r.rowCount ?? 0 };
  };
  return {
    query: (text, params) => query(pool, text, params),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const out = await fn({ query: (text, params) => query(client, text, params) });
        await client.query('commit');
        return out;
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function migrate(sql: Sql): Promise<number[]> {
  return sql.transaction(async (tx) => {
    // Replicas starting together against one PostgreSQL take turns (no-op lock on PGlite).
    await tx.query('select pg_advisory_xact_lock(727274)');
    await tx.query('create table if not exists rc_migrations (id integer primary key, applied_at timestamptz not null default now())');
    const done = new Set((await tx.query<{ id: number }>('select id from rc_migrations')).rows.map((r) => Number(r.id)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('insert into rc_migrations (id) values ($1)', [m.id]);
      applied.push(m.id);
    }
    return applied;
  });
}

type LogFn = (obj: object, msg?: string) => void;
export interface StoreLog {
  info?: LogFn;
  warn?: LogFn;
  error?: LogFn;
}

/**
 * Opens the store and brings its schema up to date. Without `databaseUrl`: PGlite in `dataDir`
 * (created if absent; a fresh folder takes ~5 s to initialise, a reopen ~1 s).
 */
export async function openStore(opts: { dataDir: string; databaseUrl?: string; log?: StoreLog }): Promise<Store> {
  const sql = opts.databaseUrl ? await postgresSql(opts.databaseUrl, opts.log) : await pgliteSql(opts.dataDir);
  try {
    const applied = await migrate(sql);
    if (applied.length > 0) opts.log?.info?.({ migrations: applied, engine: opts.databaseUrl ? 'postgresql' : 'pglite' }, 'store schema migrated');
  } catch (e) {
    await sql.close().catch(() => undefined);
    throw e;
  }
  let closed = false;
  let purgeAt = 0;

  // Audit rows and explanation pages are written behind the response, in batches: one
  // transaction every FLUSH_MS (or FLUSH_ROWS rows) instead of two writes per call on the event
  // loop. They are flushed on close; feedback is never batched (a 200 means committed).
  const FLUSH_MS = 50;
  const FLUSH_ROWS = 200;
  let audits: AuditRecord[] = [];
  let explanations = new Map<string, { payload: unknown; expiresAt: Date }>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const a = audits;
    const e = explanations;
    audits = [];
    explanations = new Map();
    if (!a.length && !e.size) return flushing;
    flushing = flushing.then(() =>
      sql.transaction(async (tx) => {
        if (a.length) {
          const cols = 14;
          const values = a.map((_, i) => `(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(', ')})`).join(', ');
          await tx.query(
            `insert into rc_audit (time, client_iss, client_sub, tenant, service_id, hook_instance, model_id, model_version, patient_hash, risk, card_uuids, latency_ms, status, outcome) values ${values}`,
            a.flatMap((r) => [r.time.toISOString(), r.clientIss ?? null, r.clientSub ?? null, r.tenant ?? null, r.serviceId, r.hookInstance ?? null, r.modelId, r.modelVersion, r.patientHash ?? null, r.risk, JSON.stringify(r.cardUuids), r.latencyMs, r.status, r.outcome]),
          );
        }
        if (e.size) {
          const rows = [...e];
          const values = rows.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ');
          await tx.query(`insert into rc_explanation (id, payload, expires_at) values ${values} on conflict (id) do nothing`, rows.flatMap(([id, x]) => [id, JSON.stringify(x.payload), x.expiresAt.toISOString()]));
        }
      }).catch((err: Error) => opts.log?.warn?.({ err: { type: err.name, message: err.message } }, 'batched audit/explanation write failed')),
    );
    return flushing;
  };
  const schedule = () => {
    if (audits.length + explanations.size >= FLUSH_ROWS) void flush();
    else timer ??= setTimeout(() => void flush(), FLUSH_MS);
  };

  const purgeExpired = async (): Promise<void> => {
    const now = Date.now();
    if (now < purgeAt) return;
    purgeAt = now + 60_000;
    await sql.query('delete from rc_jti where expires_at < now()');
    await sql.query('delete from rc_explanation where expires_at < now()');
  };

  return {
    async recordFeedback(serviceId, items, client) {
      return sql.transaction(async (tx) => {
        let inserted = 0;
        for (const it of items) {
          const r = await tx.query(
            `insert into rc_feedback (service_id, card_uuid, outcome, outcome_timestamp, accepted_suggestions, override_reason_code, override_reason_system, override_reason_display, user_comment, client_iss, client_sub, tenant)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict (card_uuid, outcome, outcome_timestamp) do nothing`,
            [
              serviceId,
              it.card,
              it.outcome,
              it.outcomeTimestamp,
              JSON.stringify(it.acceptedSuggestions?.map((s) => s.id) ?? []),
              it.overrideReason?.reason?.code ?? null,
              it.overrideReason?.reason?.system ?? null,
              it.overrideReason?.reason?.display ?? null,
              it.overrideReason?.userComment ?? null,
              client?.iss ?? null,
              client?.sub ?? null,
              client?.tenant ?? null,
            ],
          );
          inserted += r.affectedRows;
        }
        return { inserted, duplicates: items.length - inserted };
      });
    },

    async recordAudit(a) {
      audits.push(a);
      schedule();
    },

    async rememberJti(iss, jti, expiresAt) {
      await purgeExpired();
      const r = await sql.query(
        `insert into rc_jti (iss, jti, expires_at) values ($1, $2, $3)
         on conflict (iss, jti) do update set expires_at = excluded.expires_at where rc_jti.expires_at < now()`,
        [iss, jti, expiresAt.toISOString()],
      );
      return r.affectedRows === 1;
    },

    async saveExplanation(id, payload, expiresAt) {
      explanations.set(id, { payload, expiresAt });
      schedule();
    },

    async loadExplanation(id) {
      const pending = explanations.get(id);
      if (pending) return pending.expiresAt > new Date() ? pending.payload : null;
      await flushing;
      const r = await sql.query<{ payload: unknown }>('select payload from rc_explanation where id = $1 and expires_at > now()', [id]);
      const p = r.rows[0]?.payload;
      if (p === undefined) return null;
      return typeof p === 'string' ? JSON.parse(p) : p;
    },

    async feedbackSummary() {
      await flush();
      const r = await sql.query<{ service_id: string; model_version: string | null; outcome: string; reason: string | null; n: string | number }>(
        `select f.service_id, a.model_version, f.outcome, f.override_reason_code as reason, count(*) as n
           from rc_feedback f
           left join lateral (select model_version from rc_audit where card_uuids @> to_jsonb(f.card_uuid) limit 1) a on true
          group by 1, 2, 3, 4 order by 1, 2`,
      );
      const rows = new Map<string, FeedbackSummaryRow>();
      for (const x of r.rows) {
        const key = `${x.service_id}|${x.model_version ?? ''}`;
        let row = rows.get(key);
        if (!row) rows.set(key, (row = { serviceId: x.service_id, ...(x.model_version ? { modelVersion: x.model_version } : {}), accepted: 0, overridden: 0, overrideReasons: {} }));
        const n = Number(x.n);
        if (x.outcome === 'accepted') row.accepted += n;
        else row.overridden += n;
        if (x.reason) row.overrideReasons[x.reason] = (row.overrideReasons[x.reason] ?? 0) + n;
      }
      return [...rows.values()];
    },

    flush,

    async ping() {
      if (closed) throw new Error('store closed');
      await sql.query('select 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      await flush();
      await sql.close();
    },
  };
}
