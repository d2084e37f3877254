/**
 * Builds the real app for tests: the repository's model packages and service definitions, a real
 * embedded store in a temp folder, a settable clock. Authentication is off unless an
 * authenticator is given.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Express, RequestHandler } from 'express';
import { loadConfig, type Config } from '../../src/config.ts';
import { createApp } from '../../src/app.ts';
import { createLogger, type Logger } from '../../src/observe/logger.ts';
import { loadModelPackages, type ModelPackage } from '../../src/models/model-package.ts';
import { bindPrefetchToModels, loadServiceDefinitions, type ServiceDefinition } from '../../src/cds/service-definitions.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import type { Metrics } from '../../src/observe/metrics.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

let modelsOnce: Promise<Map<string, ModelPackage>> | undefined;
export function bundledModels(): Promise<Map<string, ModelPackage>> {
  modelsOnce ??= loadModelPackages(join(ROOT, 'models'));
  return modelsOnce;
}

export async function bundledServices(): Promise<ServiceDefinition[]> {
  const models = await bundledModels();
  return loadServiceDefinitions(join(ROOT, 'cds-hooks'), new Set(models.keys())).map((s) => bindPrefetchToModels(s, s.models.map((id) => models.get(id)!.manifest.features)));
}

/** Captures log lines in memory so tests can read them. */
export function memoryLog(level = 'info'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger(level, sink), lines };
}

export interface TestApp {
  app: Express;
  store: Store;
  config: Readonly<Config>;
  models: Map<string, ModelPackage>;
  services: ServiceDefinition[];
  logLines: string[];
  setNow(d: Date): void;
  close(): Promise<void>;
}

export async function buildTestApp(opts: { env?: Record<string, string>; authenticate?: (log: Logger) => RequestHandler; store?: Store; now?: Date; metrics?: Metrics } = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-test-'));
  const config = loadConfig({ RISKCARDS_AUTH: opts.authenticate ? 'on' : 'off', RISKCARDS_DATA_DIR: dataDir, RISKCARDS_PUBLIC_URL: 'http://riskcards.test', ...opts.env }, ROOT);
  const models = await bundledModels();
  const services = await bundledServices();
  const store = opts.store ?? (await openStore({ dataDir }));
  const { log, lines } = memoryLog();
  let now = opts.now ?? new Date();
  const app = createApp({
    config,
    models,
    services,
    store,
    log,
    ...(opts.authenticate ? { authenticate: opts.authenticate(log) } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    now: () => now,
    patientHashKey: 'test-key-0123456789abcdef',
  });
  return {
    app,
    store,
    config,
    models,
    services,
    logLines: lines,
    setNow: (d) => {
      now = d;
    },
    close: async () => {
      if (!opts.store) await store.close();
    },
  };
}
