/**
 * The store in a worker thread. The embedded engine (PGlite) is PostgreSQL compiled to
 * WebAssembly: on the main thread its work (parsing, WAL, index updates of the audit and
 * explanation writes every call makes) took over 40 % of the event loop under load and delayed
 * every answer behind it. Here the same `Store` runs in its own thread (a second core on this
 * machine); the main thread only posts messages. Semantics are those of store.ts: feedback
 * resolves after COMMIT, audit rows and explanation pages are posted and written in batches.
 * Message order on the port is kept, so an explanation posted before a read of it is found.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Store, StoreLog } from './store.ts';

export interface StoreOpenOptions {
  dataDir: string;
  databaseUrl?: string;
}

type Method = { [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never }[keyof Store];
/** A call to the worker (posted alone, or several in an array): with an id the worker answers it; without, it is fire-and-forget. */
export interface StoreCall {
  id?: number;
  op: Method;
  args: unknown[];
}
interface SerializedError {
  name: string;
  message: string;
  code?: string;
}
export type StoreMessage =
  | { kind: 'open' }
  | { kind: 'open-failed'; error: SerializedError }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; obj: object; msg?: string };

function revive(e: SerializedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) (err as Error & { code: string }).code = e.code;
  return err;
}

/** The worker's entry, beside this file; run from TypeScript sources, the worker registers tsx first. */
function startWorker(opts: StoreOpenOptions): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./store-worker${ext}`, import.meta.url);
  if (ext !== '.ts') return new Worker(entry, { workerData: opts });
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: opts });
}

export async function openStoreInThread(opts: StoreOpenOptions & { log?: StoreLog }): Promise<Store> {
  const worker = startWorker({ dataDir: opts.dataDir, ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let down: Error | undefined;
  let closing: Promise<void> | undefined;

  const opened = new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      down ??= e;
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    worker.on('message', (m: StoreMessage) => {
      switch (m.kind) {
        case 'open':
          resolve();
          break;
        case 'open-failed':
          fail(revive(m.error));
          break;
        case 'result':
          pending.get(m.id)?.resolve(m.value);
          pending.delete(m.id);
          break;
        case 'error':
          pending.get(m.id)?.reject(revive(m.error));
          pending.delete(m.id);
          break;
        case 'log':
          opts.log?.[m.level]?.(m.obj, m.msg);
          break;
      }
    });
    worker.on('error', (e) => {
      opts.log?.error?.({ err: { type: e.name, message: e.message } }, 'store thread failed');
      fail(new Error(`the store is unavailable: ${e.message}`));
    });
    worker.on('exit', (code) => fail(new Error(closing ? 'the store is closed' : `the store is unavailable: its thread exited with code ${code}`)));
  });
  try {
    await opened;
  } catch (e) {
    await worker.terminate();
    throw e;
  }

  // Batched writes (audit rows, explanation pages) are posted together once per turn of the event
  // loop: one message for all the calls answered in that turn instead of one each. A call that
  // waits for an answer posts what is queued first, so it never overtakes an earlier write.
  let queued: StoreCall[] = [];
  const postQueued = () => {
    if (!queued.length) return;
    const batch = queued;
    queued = [];
    if (!down) worker.postMessage(batch);
  };
  const call = <T>(op: Method, ...args: unknown[]): Promise<T> => {
    if (down) return Promise.reject(down);
    postQueued();
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, op, args } satisfies StoreCall);
    });
  };
  /** Batched writes: posted, not answered (the worker logs a failed batch, as store.ts does). */
  const post = (op: Method, ...args: unknown[]): Promise<void> => {
    if (down) return Promise.reject(down);
    if (!queued.length) setImmediate(postQueued);
    queued.push({ op, args });
    return Promise.resolve();
  };

  return {
    recordFeedback: (serviceId, items, client) => call('recordFeedback', serviceId, items, client),
    recordAudit: (rec) => post('recordAudit', rec),
    rememberJti: (iss, jti, expiresAt) => call('rememberJti', iss, jti, expiresAt),
    saveExplanation: (id, payload, expiresAt) => post('saveExplanation', id, payload, expiresAt),
    flush: () => call('flush'),
    loadExplanation: (id) => call('loadExplanation', id),
    feedbackSummary: () => call('feedbackSummary'),
    ping: () => call('ping'),
    close: () => {
      closing ??= (async () => {
        if (!down) await call('close').catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
