/**
 * The store's own thread (see store-thread.ts): opens the store here and answers the calls the
 * main thread posts. Log lines are posted back; nothing here writes to stdout.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openStore, type Store } from './store.ts';
import type { StoreCall, StoreMessage, StoreOpenOptions } from './store-thread.ts';

if (!parentPort) throw new Error('store-worker.ts runs only as a worker thread');
const port: MessagePort = parentPort;

const post = (m: StoreMessage) => port.postMessage(m);
const errorOf = (e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, ...((err as { code?: unknown }).code !== undefined ? { code: String((err as { code?: unknown }).code) } : {}) };
};
const logTo =
  (level: 'info' | 'warn' | 'error') =>
  (obj: object, msg?: string): void =>
    post({ kind: 'log', level, obj, ...(msg !== undefined ? { msg } : {}) });

const opts = workerData as StoreOpenOptions;
let store: Store;
try {
  store = await openStore({ ...opts, log: { info: logTo('info'), warn: logTo('warn'), error: logTo('error') } });
  post({ kind: 'open' });
} catch (e) {
  post({ kind: 'open-failed', error: errorOf(e) });
  process.exit(1);
}

port.on('message', (message: StoreCall | StoreCall[]) => {
  if (Array.isArray(message)) for (const call of message) handle(call);
  else handle(message);
});

function handle(call: StoreCall): void {
  const method = store[call.op] as (...args: unknown[]) => Promise<unknown>;
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(method.apply(store, call.args));
  } catch (e) {
    result = Promise.reject(e);
  }
  result.then(
    (value) => {
      if (call.id !== undefined) post({ kind: 'result', id: call.id, value });
      if (call.op === 'close') port.close();
    },
    (e: unknown) => {
      if (call.id !== undefined) post({ kind: 'error', id: call.id, error: errorOf(e) });
      else post({ kind: 'log', level: 'error', obj: { err: errorOf(e), op: call.op }, msg: 'store write failed' });
    },
  );
}
