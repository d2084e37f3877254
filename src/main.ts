/**
 * Starts the service: configuration, model packages, service definitions, store, HTTP.
 * Any problem at start is printed as sentences and the process exits 1; nothing half-starts.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Router } from 'express';
import { loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './observe/logger.ts';
import { loadModelPackages } from './models/model-package.ts';
import { explanationProblems } from './explain/explainers.ts';
import { bindPrefetchToModels, loadServiceDefinitions, type ServiceDefinition } from './cds/service-definitions.ts';
import { openStore, type Store } from './store/store.ts';
import { openStoreInThread } from './store/store-thread.ts';
import type { EarlyStore } from './store/early-store.ts';
import { loadTrustedClients } from './http/trusted-clients.ts';
import { createClientVerifier, requireClientJwt } from './http/auth.ts';
import { createApp } from './app.ts';
import { Metrics } from './observe/metrics.ts';
import { loadTrainingDistributions } from './observe/training-distributions.ts';

/** The audit's patient-id hash key: configured, else created once and kept in the data folder. */
function patientHashKey(config: Config): string {
  if (config.patientHashKey) return config.patientHashKey;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'patient-hash.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

export interface RunningService {
  server: Server;
  store: Store;
  log: Logger;
  url: string;
  stop(): Promise<void>;
}

export async function startService(env: Record<string, string | undefined> = process.env, early?: EarlyStore): Promise<RunningService> {
  const started = performance.now();
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch (e) {
    await early?.opening.then((s) => s.close()).catch(() => undefined);
    throw e;
  }
  const log = createLogger(config.logLevel);
  // Models and the store do not depend on each other: load both at once. The embedded engine
  // (PGlite, WebAssembly) runs in its own thread so that its work stays off the event loop that
  // answers hooks; a PostgreSQL server does that work in its own process, so `pg` stays here (a
  // worker thread would cost a second V8 heap, ~40 MB, for nothing).
  // An early store (start.ts) was opened from the same environment, so for the same folder.
  if (early) early.bindLog(log);
  const opening = config.databaseUrl
    ? openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, log })
    : early && early.dataDir === config.dataDir
      ? early.opening
      : openStoreInThread({ dataDir: config.dataDir, log });
  opening.catch(() => undefined);
  // Start-up budget, logged with "ready": when the store and the models were ready, in ms since the process started.
  let storeAtMs = 0;
  void opening.then(() => (storeAtMs = Math.round(performance.now())), () => undefined);
  let modelsAtMs = 0;
  let models: Awaited<ReturnType<typeof loadModelPackages>>;
  let services: ServiceDefinition[];
  try {
    models = await loadModelPackages(config.modelsDir);
    modelsAtMs = Math.round(performance.now());
    const explanationIssues = [...models.values()].flatMap((m) => explanationProblems(m.manifest).map((p) => `${m.manifest.id}: ${p}`));
    if (explanationIssues.length) throw new Error(`model packages cannot be explained:\n- ${explanationIssues.join('\n- ')}`);
    const loaded = models;
    services = loadServiceDefinitions(config.servicesDir, new Set(loaded.keys())).map((s) => bindPrefetchToModels(s, s.models.map((id) => loaded.get(id)!.manifest.features)));
  } catch (e) {
    // Nothing half-started stays open.
    await opening.then((s) => s.close()).catch(() => undefined);
    throw e;
  }
  const store = await opening;

  let authenticate;
  if (config.auth === 'on') {
    const clients = loadTrustedClients(config.trustedClientsFile!);
    const verify = createClientVerifier({
      clients,
      publicUrl: config.publicUrl,
      clockToleranceSec: config.clockToleranceSec,
      replay: store,
    });
    authenticate = requireClientJwt(verify, log);
  } else {
    log.warn('RISKCARDS_AUTH=off: CDS clients are NOT authenticated. For local development only; FHIR servers limited to loopback unless RISKCARDS_FHIR_ALLOWLIST says otherwise.');
  }

  let ready = false;
  let draining = false;
  const health = Router();
  health.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  health.get('/readyz', async (_req, res) => {
    try {
      if (!ready || draining) throw new Error('not ready');
      await store.ping();
      res.json({ status: 'ready', models: [...models.keys()] });
    } catch {
      res.status(503).json({ status: 'not-ready' });
    }
  });

  const app = createApp({
    config,
    models,
    services,
    store,
    log,
    ...(authenticate ? { authenticate } : {}),
    patientHashKey: patientHashKey(config),
    metrics: new Metrics(loadTrainingDistributions(models)),
    extraRoutes: [health],
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  ready = true;
  log.info({ port, models: [...models.values()].map((m) => `${m.manifest.id}@${m.manifest.version}`), services: services.map((s) => s.id), readyMs: Math.round(performance.now() - started), storeAtMs, modelsAtMs, readyAtMs: Math.round(performance.now()) }, 'ready');
  // Whoever waits for this line (an orchestrator's log, the tests, the benchmark) sees it now.
  log.flush();

  const stop = async () => {
    if (draining) return;
    draining = true;
    // Stop accepting, let in-flight requests finish, then close the store.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 10_000).unref();
    });
    await store.close();
    log.info('stopped');
    log.flush();
  };
  return { server, store, log, url: `http://127.0.0.1:${port}`, stop };
}

/** Starts the service with signal handling; a failure to start is printed as sentences and exits 1. */
export function runMain(env: Record<string, string | undefined> = process.env, early?: EarlyStore): void {
  startService(env, early).then(
    (svc) => {
      const shutdown = () => {
        svc.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    },
    (err: Error & { problems?: string[] }) => {
      process.stderr.write(`RiskCards did not start: ${err.message}\n`);
      process.exit(1);
    },
  );
}

// `node --import tsx src/main.ts` (the tests, development); `npm start` enters through start.ts.
if (process.argv[1]?.endsWith('/src/main.ts')) runMain();
