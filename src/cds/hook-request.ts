/**
 * Validation of a CDS Hooks 2.0 service request (https://cds-hooks.hl7.org/2.0/#http-request_1).
 * Unknown extra fields are tolerated, as the spec asks of services.
 */
import { badRequest } from '../errors.ts';
import { validateHookContext } from './hook-contexts.ts';

export interface FhirAuthorization {
  accessToken: string;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
  subject?: string;
  patient?: string;
}

export interface HookRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: Record<string, unknown>;
  prefetch?: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseHookRequest(body: unknown, expectedHook: string): HookRequest {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.', '$');
  const { hook, hookInstance, fhirServer, fhirAuthorization, context, prefetch } = body;

  if (typeof hook !== 'string' || hook === '') throw badRequest('hook is required and must be a string.', 'hook');
  if (hook !== expectedHook) {
    throw badRequest(`This service answers the "${expectedHook}" hook, not "${hook}".`, 'hook');
  }
  if (typeof hookInstance !== 'string' || hookInstance.trim() === '' || hookInstance.length > 256) {
    throw badRequest('hookInstance is required and must be a non-empty string (a UUID).', 'hookInstance');
  }

  let server: string | undefined;
  if (fhirServer !== undefined) {
    if (typeof fhirServer !== 'string') throw badRequest('fhirServer must be a URL string.', 'fhirServer');
    let u: URL;
    try {
      u = new URL(fhirServer);
    } catch {
      throw badRequest('fhirServer must be an absolute URL.', 'fhirServer');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badRequest('fhirServer must be an http(s) URL.', 'fhirServer');
    if (u.username || u.password) throw badRequest('fhirServer must not carry credentials.', 'fhirServer');
    server = fhirServer.replace(/\/+$/, '');
  }

  let auth: FhirAuthorization | undefined;
  if (fhirAuthorization !== undefined && fhirAuthorization !== null) {
    if (!isObject(fhirAuthorization)) throw badRequest('fhirAuthorization must be an object.', 'fhirAuthorization');
    if (!server) throw badRequest('fhirAuthorization requires fhirServer.', 'fhirServer');
    const { access_token, token_type, expires_in, scope, subject, patient } = fhirAuthorization;
    if (typeof access_token !== 'string' || access_token === '') {
      throw badRequest('fhirAuthorization.access_token is required.', 'fhirAuthorization.access_token');
    }
    if (token_type !== 'Bearer') throw badRequest('fhirAuthorization.token_type must be "Bearer".', 'fhirAuthorization.token_type');
    if (expires_in !== undefined && (typeof expires_in !== 'number' || !Number.isFinite(expires_in))) {
      throw badRequest('fhirAuthorization.expires_in must be a number of seconds.', 'fhirAuthorization.expires_in');
    }
    if (scope !== undefined && typeof scope !== 'string') throw badRequest('fhirAuthorization.scope must be a string.', 'fhirAuthorization.scope');
    if (subject !== undefined && typeof subject !== 'string') throw badRequest('fhirAuthorization.subject must be a string.', 'fhirAuthorization.subject');
    if (patient !== undefined && typeof patient !== 'string') throw badRequest('fhirAuthorization.patient must be a string.', 'fhirAuthorization.patient');
    auth = {
      accessToken: access_token,
      tokenType: token_type,
      ...(typeof expires_in === 'number' ? { expiresIn: expires_in } : {}),
      ...(typeof scope === 'string' ? { scope } : {}),
      ...(typeof subject === 'string' ? { subject } : {}),
      ...(typeof patient === 'string' ? { patient } : {}),
    };
  }

  const ctx = validateHookContext(hook, context);

  if (prefetch !== undefined && prefetch !== null && !isObject(prefetch)) {
    throw badRequest('prefetch must be an object of prefetch keys.', 'prefetch');
  }

  return {
    hook,
    hookInstance,
    ...(server ? { fhirServer: server } : {}),
    ...(auth ? { fhirAuthorization: auth } : {}),
    context: ctx,
    ...(isObject(prefetch) ? { prefetch } : {}),
  };
}
