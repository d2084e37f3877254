/**
 * CDS Hooks 2.0 endpoints: discovery, service calls and feedback
 * (https://cds-hooks.hl7.org/2.0/#discovery, #calling-a-cds-service, #feedback).
 */
import { Router, type Request, type Response } from 'express';
import { HttpError, notFound } from '../errors.ts';
import { parseHookRequest } from '../cds/hook-request.ts';
import { runService, type ServiceDeps, type ServiceResult } from '../cds/run-service.ts';
import { discoveryDocument, type ServiceDefinition } from '../cds/service-definitions.ts';
import { parseFeedbackRequest, type FeedbackItem } from '../cds/feedback.ts';
import type { ModelPackage } from '../models/model-package.ts';
import type { Store } from '../store/store.ts';
import type { Logger } from '../observe/logger.ts';
import type { ClientIdentity } from './auth.ts';

export type { ClientIdentity };

export interface CdsRoutesOptions {
  services: readonly ServiceDefinition[];
  models: ReadonlyMap<string, ModelPackage>;
  store: Store;
  log: Logger;
  /** Builds the per-call dependencies (clock, budget, SSRF allowlist for this caller). */
  depsFor: (client: ClientIdentity | undefined) => ServiceDeps;
  hashPatientId: (patientId: string) => string;
  /** Called after every service call, for metrics. */
  onServiceResult?: (service: ServiceDefinition, result: ServiceResult | undefined, status: number, durationMs: number) => void;
  /** Called after feedback is committed, for metrics. */
  onFeedback?: (serviceId: string, items: FeedbackItem[]) => void;
}

export function cdsRoutes(opts: CdsRoutesOptions): Router {
  const router = Router();
  const byId = new Map(opts.services.map((s) => [s.id, s]));
  const discovery = JSON.stringify(discoveryDocument(opts.services));

  router.get('/cds-services', (_req, res) => {
    res.type('application/json').send(discovery);
  });

  const serviceFor = (req: Request, res: Response): ServiceDefinition => {
    const id = String(req.params.id);
    const service = byId.get(id);
    if (!service) throw notFound(`No CDS service with id "${id}".`, 'id');
    res.locals.serviceId = service.id;
    return service;
  };

  router.post('/cds-services/:id', async (req, res) => {
    const service = serviceFor(req, res);
    const models = service.models.map((id) => opts.models.get(id)!);
    const model = models[0]!;
    res.locals.modelVersion = model.manifest.version;
    const client = res.locals.client as ClientIdentity | undefined;
    const started = performance.now();
    let result: ServiceResult | undefined;
    let status = 200;
    let patientId: string | undefined;
    try {
      const request = parseHookRequest(req.body, service.hook);
      patientId = String(request.context.patientId);
      result = await runService(service, models, request, opts.depsFor(client));
      res.type('application/json').send(JSON.stringify({ cards: result.cards }));
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      throw err;
    } finally {
      const latencyMs = performance.now() - started;
      opts.onServiceResult?.(service, result, status, latencyMs);
      const hookInstance = typeof req.body?.hookInstance === 'string' ? req.body.hookInstance.slice(0, 256) : undefined;
      // Audit every invocation; a failing audit write is logged, never turned into a failed call.
      opts.store
        .recordAudit({
          time: new Date(),
          ...(client ? { clientIss: client.iss, ...(client.sub ? { clientSub: client.sub } : {}), ...(client.tenant ? { tenant: client.tenant } : {}) } : {}),
          serviceId: service.id,
          ...(hookInstance ? { hookInstance } : {}),
          modelId: model.manifest.id,
          modelVersion: model.manifest.version,
          ...(patientId ? { patientHash: opts.hashPatientId(patientId) } : {}),
          risk: result?.risk ?? null,
          cardUuids: result?.cards.map((c) => c.uuid) ?? [],
          latencyMs,
          status,
          outcome: result ? (result.cards.length ? result.outcome : 'no-card') : 'error',
        })
        .catch((e: Error) => opts.log.error({ requestId: res.locals.requestId, err: { type: e.name, message: e.message } }, 'audit write failed'));
    }
  });

  router.post('/cds-services/:id/feedback', async (req, res) => {
    const service = serviceFor(req, res);
    const items = parseFeedbackRequest(req.body);
    const client = res.locals.client as ClientIdentity | undefined;
    // Resolves only after COMMIT: a 200 means the feedback is stored.
    const stored = await opts.store.recordFeedback(service.id, items, client);
    opts.onFeedback?.(service.id, items);
    res.type('application/json').send(JSON.stringify({ stored: stored.inserted, duplicates: stored.duplicates }));
  });

  return router;
}
