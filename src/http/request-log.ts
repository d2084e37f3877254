/**
 * One log line per request: request id, method, route, status, duration, service and model
 * version. Never headers, query strings, bodies or patient ids.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../observe/logger.ts';

export function requestLog(log: Logger, onDone?: (info: { route: string; method: string; status: number; durationMs: number; serviceId?: string }) => void): RequestHandler {
  return (req, res, next) => {
    const start = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[A-Za-z0-9\-_.]{8,64}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const durationMs = Math.round((performance.now() - start) * 100) / 100;
      const route = (req.route?.path as string | undefined) ?? req.path.split('/').slice(0, 2).join('/');
      const entry = {
        requestId,
        method: req.method,
        route,
        status: res.statusCode,
        durationMs,
        ...(res.locals.serviceId ? { serviceId: res.locals.serviceId as string } : {}),
        ...(res.locals.modelVersion ? { modelVersion: res.locals.modelVersion as string } : {}),
        ...(res.locals.errorCode ? { code: res.locals.errorCode as string } : {}),
        ...(res.locals.client ? { clientIss: (res.locals.client as { iss: string }).iss } : {}),
      };
      log.info(entry, 'request');
      onDone?.({ route, method: req.method, status: res.statusCode, durationMs, ...(res.locals.serviceId ? { serviceId: res.locals.serviceId as string } : {}) });
    });
    next();
  };
}
