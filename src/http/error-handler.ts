/**
 * The one place errors become HTTP responses. An HttpError renders its OperationOutcome (or an
 * empty body when it is "bare", e.g. 401); body-parser errors become 400/413 OperationOutcomes;
 * anything else is a bare 500 whose detail goes only to the log.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, badRequest, operationOutcome, payloadTooLarge } from '../errors.ts';
import type { Logger } from '../observe/logger.ts';

export const FHIR_JSON = 'application/fhir+json';

function toHttpError(err: unknown, bodyLimit: string): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return payloadTooLarge(bodyLimit);
  if (e?.type === 'entity.parse.failed') return badRequest('The request body is not valid JSON.', '$', 'RC_MALFORMED_JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return badRequest('The request body encoding is not supported.', '$');
  if (e?.type === 'request.aborted') return badRequest('The request was aborted.', '$');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return badRequest('The request could not be read.', '$');
  return undefined;
}

export function errorHandler(log: Logger, bodyLimit: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err, bodyLimit);
    const requestId = res.locals.requestId as string | undefined;
    if (res.headersSent) {
      log.error({ requestId, code: httpError?.code ?? 'RC_INTERNAL' }, 'error after response started');
      res.end();
      return;
    }
    if (httpError) {
      res.locals.errorCode = httpError.code;
      if (httpError.bare) {
        if (httpError.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
        res.status(httpError.status).end();
        return;
      }
      res.status(httpError.status).type(FHIR_JSON).send(JSON.stringify(httpError.toOperationOutcome()));
      return;
    }
    // Unknown failure: log the class and message (never request data), answer without internals.
    const e = err as Error;
    log.error({ requestId, err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'unhandled error');
    res.locals.errorCode = 'RC_INTERNAL';
    res
      .status(500)
      .type(FHIR_JSON)
      .send(JSON.stringify(operationOutcome({ severity: 'fatal', code: 'exception', diagnostics: 'Internal error. The request id is in the X-Request-Id header.' })));
    void req;
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'RC_NO_ROUTE', { severity: 'error', code: 'not-found', diagnostics: `No route for ${req.method} ${req.path}.` }));
};
