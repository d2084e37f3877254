/**
 * Opening the embedded store is the longest step of start-up (PGlite: ~1 s to start PostgreSQL
 * in WebAssembly on a warm data folder). `npm start`'s entry (start.ts) calls this before it
 * loads the rest of the service, so the store's thread starts while the main thread is still
 * loading express, onnxruntime and the models. Store log lines are held until the service's
 * logger exists. With DATABASE_URL, or a configuration that does not load, nothing starts here:
 * startService opens the store (or reports the configuration problems) as usual.
 */
import { loadConfig } from '../config.ts';
import { openStoreInThread } from './store-thread.ts';
import type { Store, StoreLog } from './store.ts';

export interface EarlyStore {
  dataDir: string;
  opening: Promise<Store>;
  /** Sends the held log lines, and every later one, to the service's logger. */
  bindLog(log: StoreLog): void;
}

type Level = 'info' | 'warn' | 'error';

export function openStoreEarly(env: Record<string, string | undefined>): EarlyStore | undefined {
  let dataDir: string;
  try {
    const config = loadConfig(env);
    if (config.databaseUrl) return undefined;
    dataDir = config.dataDir;
  } catch {
    return undefined;
  }
  const held: [Level, object, string | undefined][] = [];
  let target: StoreLog | undefined;
  const forward = (level: Level) => (obj: object, msg?: string) => {
    if (target) target[level]?.(obj, msg);
    else held.push([level, obj, msg]);
  };
  const opening = openStoreInThread({ dataDir, log: { info: forward('info'), warn: forward('warn'), error: forward('error') } });
  opening.catch(() => undefined);
  return {
    dataDir,
    opening,
    bindLog(log) {
      target = log;
      for (const [level, obj, msg] of held.splice(0)) log[level]?.(obj, msg);
    },
  };
}
