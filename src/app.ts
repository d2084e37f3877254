/**
 * The composition root: builds the HTTP app from its parts. main.ts and the tests build the same
 * app with real parts (`createApp({ config, models, services, store, log })`).
 */
import { randomFillSync } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from './config.ts';
import type { ServiceDefinition } from './cds/service-definitions.ts';
import type { ModelPackage } from './models/model-package.ts';
import type { Store } from './store/store.ts';
import { patientHash } from './store/patient-hash.ts';
import type { Logger } from './observe/logger.ts';
import { cors } from './http/cors.ts';
import { jsonBody } from './http/json-body.ts';
import { rateLimit } from './http/rate-limit.ts';
import { requestLog } from './http/request-log.ts';
import { errorHandler, notFoundHandler } from './http/error-handler.ts';
import { cdsRoutes, type ClientIdentity } from './http/cds-routes.ts';
import { modelRoutes } from './http/model-routes.ts';
import { explanationRoutes } from './http/explanation-routes.ts';
import { allowedFhirServer } from './http/auth.ts';
import type { Metrics } from './observe/metrics.ts';
import { openApiDocument } from './http/openapi.ts';

/** Version of the HTTP API (not of the models). */
export const API_VERSION = '0.1.0';

export interface AppParts {
  config: Readonly<Config>;
  models: ReadonlyMap<string, ModelPackage>;
  services: readonly ServiceDefinition[];
  store: Store;
  log: Logger;
  /** Verifies the CDS client's JWT; absent only when config.auth is "off". */
  authenticate?: RequestHandler;
  /** Overrides the clock (tests); else config.fixedNow, else the real clock. */
  now?: () => Date;
  /** Key for the keyed hash of patient ids in the audit. */
  patientHashKey: string;
  /** Prometheus metrics; served at /metrics when given. */
  metrics?: Metrics;
  /** Extra routes mounted before the 404 handler (metrics, health). */
  extraRoutes?: express.Router[];
}

/**
 * Opaque explanation-page ids: 18 random bytes, base64url. Drawn from a pooled buffer refilled
 * 4 KB at a time: one CSPRNG call per ~227 ids instead of one per hook call.
 */
const idPool = Buffer.alloc(18 * 227);
let idPoolAt = idPool.length;
function opaqueId(): string {
  if (idPoolAt + 18 > idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  idPoolAt += 18;
  return idPool.toString('base64url', idPoolAt - 18, idPoolAt);
}

export function createApp(parts: AppParts): Express {
  const { config, log, store } = parts;
  if (config.auth === 'on' && !parts.authenticate) throw new Error('createApp: authentication is on but no authenticator was given.');
  const now = parts.now ?? (config.fixedNow ? () => new Date(config.fixedNow!) : () => new Date());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const metrics = parts.metrics;
  app.use(requestLog(log, metrics ? (i) => metrics.observeHttp(i.route, i.method, i.status, i.durationMs / 1000) : undefined));
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  app.use(helmet());
  app.use(cors(config.corsOrigins));
  // Model cards and explanation pages are for people: readable without a CDS client JWT
  // (explanation pages are reachable only through an opaque id that expires).
  const openapi = JSON.stringify(openApiDocument(parts.services, config.publicUrl, API_VERSION));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use(modelRoutes(parts.models, config.publicUrl));
  app.use(explanationRoutes(store));
  for (const r of parts.extraRoutes ?? []) app.use(r);

  if (parts.authenticate) app.use('/cds-services', parts.authenticate);
  app.use('/cds-services', rateLimit(config.rateLimitPerMinute));
  app.use('/cds-services', ...jsonBody(config.bodyLimitBytes, config.jsonMaxDepth));

  app.use(
    cdsRoutes({
      services: parts.services,
      models: parts.models,
      store,
      log,
      hashPatientId: (id) => patientHash(parts.patientHashKey, id),
      ...(metrics
        ? {
            onServiceResult: (service, result, status, durationMs) => {
              metrics.observeService(service.id, status, durationMs / 1000, result?.stages);
              if (result) {
                metrics.countCards(service.id, result.outcome, result.cards.map((c) => c.indicator));
                metrics.observeInputs(result.modelId, result.inputs);
              }
            },
            onFeedback: (serviceId, items) => metrics.countFeedback(serviceId, items),
          }
        : {}),
      depsFor: (client: ClientIdentity | undefined) => ({
        publicUrl: config.publicUrl,
        fetchBudgetMs: config.fetchBudgetMs,
        now,
        fhirServerAllowed: (url) =>
          allowedFhirServer(client, url, {
            devLoopbackOnly: config.auth === 'off',
            extraAllowed: config.fhirAllowlist,
          }),
        saveExplanation: async (payload) => {
          const id = opaqueId();
          await store.saveExplanation(id, payload, new Date(Date.now() + config.explanationTtlSec * 1000));
          return `${config.publicUrl}/explanations/${id}`;
        },
      }),
    }),
  );

  app.use(notFoundHandler);
  app.use(errorHandler(log, `${Math.round(config.bodyLimitBytes / 1024)} KB`));
  return app;
}
