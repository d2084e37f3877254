/**
 * One error type for every problem the service reports to a caller. It is thrown where the
 * problem is found and rendered in one place (src/http/error-handler.ts) as a FHIR
 * OperationOutcome. Codes are stable strings so tests assert codes, not message text.
 */

export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-found'
  | 'not-supported'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'too-costly'
  | 'throttled'
  | 'timeout'
  | 'transient'
  | 'incomplete'
  | 'exception';

export interface OperationOutcomeIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: IssueCode;
  diagnostics?: string;
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OperationOutcomeIssue[];
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issue: OperationOutcomeIssue;
  /** When true the body is empty (e.g. authentication failures: the reason goes to the log only). */
  readonly bare: boolean;

  constructor(status: number, code: string, issue: OperationOutcomeIssue, bare = false) {
    super(issue.diagnostics ?? code);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.issue = issue;
    this.bare = bare;
  }

  toOperationOutcome(): OperationOutcome {
    return operationOutcome(this.issue);
  }
}

export function operationOutcome(...issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** 400: the request is wrong; `field` is a FHIRPath-like location ("context.patientId"). */
export function badRequest(message: string, field?: string, code = 'RC_BAD_REQUEST'): HttpError {
  return new HttpError(400, code, {
    severity: 'error',
    code: 'invalid',
    diagnostics: message,
    ...(field ? { expression: [field] } : {}),
  });
}

export function notFound(message: string, field?: string): HttpError {
  return new HttpError(404, 'RC_NOT_FOUND', {
    severity: 'error',
    code: 'not-found',
    diagnostics: message,
    ...(field ? { expression: [field] } : {}),
  });
}

/** 412: the data the service needs could be neither prefetched nor fetched (CDS Hooks 2.0 §Prefetch). */
export function preconditionFailed(message: string, field?: string): HttpError {
  return new HttpError(412, 'RC_DATA_UNAVAILABLE', {
    severity: 'error',
    code: 'incomplete',
    diagnostics: message,
    ...(field ? { expression: [field] } : {}),
  });
}

/** 401 with no body: the reason is logged, never told to the caller. */
export function unauthorized(reason: string): HttpError {
  return new HttpError(401, 'RC_UNAUTHORIZED', { severity: 'error', code: 'login', diagnostics: reason }, true);
}

export function payloadTooLarge(limit: string): HttpError {
  return new HttpError(413, 'RC_TOO_LARGE', {
    severity: 'error',
    code: 'too-costly',
    diagnostics: `The request body is larger than the limit of ${limit}.`,
  });
}

export function tooManyRequests(): HttpError {
  return new HttpError(429, 'RC_RATE_LIMITED', {
    severity: 'error',
    code: 'throttled',
    diagnostics: 'Too many requests from this client; retry later.',
  });
}
