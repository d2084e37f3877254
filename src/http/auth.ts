/**
 * Authenticating CDS clients, CDS Hooks 2.0 "Trusting CDS Clients"
 * (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): every call (discovery, service, feedback)
 * carries `Authorization: Bearer <JWT>` signed by the client; header alg, kid, jku; claims iss,
 * aud (the endpoint URL being called), exp, iat, jti, optional sub and tenant.
 *
 * The order of checks is the defence: the header and the unverified iss are read first, the iss
 * must be a trusted client before anything is fetched, a jku must be one that client listed before
 * it is fetched, and only then is the signature checked (jose) and the claims judged. The replay
 * store is consulted last, so forged tokens cannot burn a real client's jti.
 *
 * Decisions (stated here because the spec leaves them open):
 * - Algorithms: ES384, RS384, ES256, RS256 only. "none" and every HMAC algorithm are refused
 *   before any key is looked at (an HS256 token "signed" with a public key is the classic attack).
 * - Clock tolerance: 60 s unless configured, applied to exp, nbf and iat.
 * - Lifetime: exp - iat may be at most 1 hour. Clients sign a fresh JWT per call (the Sandbox
 *   signs per request); a longer-lived token is more useful to a thief than to a client, and the
 *   bound keeps the replay store small.
 * - aud: a string or an array; one value must equal publicUrl + request path, exactly, apart
 *   from one trailing slash.
 * - tenant: when the trusted client lists one, a token's tenant claim, if present, must equal it.
 * - Inline-JWKS clients: a jku header is ignored (never fetched).
 * - A failing replay store is not an authentication failure: its error propagates (500), so the
 *   service fails closed without blaming the client.
 */
import type { RequestHandler } from 'express';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { unauthorized, HttpError } from '../errors.ts';
import type { Logger } from '../observe/logger.ts';
import {
  isAcceptedAlgorithm,
  isLoopbackHost,
  keyFitsAlgorithm,
  normaliseFhirBase,
  type AcceptedAlgorithm,
  type PublicJwk,
  type TrustedClient,
} from './trusted-clients.ts';

export interface ClientIdentity {
  iss: string;
  sub?: string;
  tenant?: string;
  jti: string;
  /** The FHIR servers this client's calls may make the service contact (from the trusted-clients file). */
  fhirServers?: string[];
}

export interface ReplayGuard {
  /** Remembers (iss, jti) until expiresAt; resolves true when it was new, false when seen before. */
  rememberJti(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
}

export interface ClientVerifierOptions {
  clients: readonly TrustedClient[];
  /** Public base URL of this service (no trailing slash needed); `aud` is built on it. */
  publicUrl: string;
  /** Seconds of clock skew tolerated on exp, nbf and iat. Default 60. */
  clockToleranceSec?: number;
  replay: ReplayGuard;
  /** Fetches a JWK Set; default: fetch() with no redirects and a size limit. */
  fetchJwks?: (url: string, signal: AbortSignal) => Promise<unknown>;
  now?: () => Date;
  /** How long a fetched JWK Set is used before it is fetched again. Default 300 s. */
  jwksCacheTtlSec?: number;
  /** An unknown kid triggers a refetch only if the last fetch of that URL is at least this old. Default 30 s. */
  jwksMinRefreshSec?: number;
  /** Time limit for one JWK Set fetch. Default 5000 ms. */
  jwksTimeoutMs?: number;
}

export type VerifyClient = (authorizationHeader: string | undefined, requestPath: string) => Promise<ClientIdentity>;

export const DEFAULT_CLOCK_TOLERANCE_SEC = 60;
export const MAX_TOKEN_LIFETIME_SEC = 3600;
const DEFAULT_JWKS_TTL_SEC = 300;
const DEFAULT_JWKS_MIN_REFRESH_SEC = 30;
const DEFAULT_JWKS_TIMEOUT_MS = 5000;
/** Far above any real CDS client JWT; refuses pathological headers before decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_JTI_LENGTH = 255;
const MAX_JWKS_BYTES = 256 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

interface JwksCacheEntry {
  keys: PublicJwk[];
  fetchedAt: number;
}

/** Keeps only the members a public EC/RSA signing key needs; drops anything else in a fetched set. */
function publicSigningKeys(jwks: unknown): PublicJwk[] {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error('the document is not a JWK Set');
  const out: PublicJwk[] = [];
  for (const k of keys) {
    if (typeof k !== 'object' || k === null) continue;
    const r = k as Record<string, unknown>;
    if ('d' in r || typeof r.kid !== 'string' || r.kid === '') continue;
    if (r.use !== undefined && r.use !== 'sig') continue;
    const common = {
      kid: r.kid,
      ...(typeof r.alg === 'string' ? { alg: r.alg } : {}),
      ...(typeof r.use === 'string' ? { use: r.use } : {}),
    };
    if (r.kty === 'EC' && typeof r.crv === 'string' && typeof r.x === 'string' && typeof r.y === 'string') {
      out.push({ kty: 'EC', ...common, crv: r.crv, x: r.x, y: r.y });
    } else if (r.kty === 'RSA' && typeof r.n === 'string' && typeof r.e === 'string') {
      out.push({ kty: 'RSA', ...common, n: r.n, e: r.e });
    }
  }
  return out;
}

async function fetchJwksOverHttp(url: string, signal: AbortSignal): Promise<unknown> {
  // No redirects: a redirect would take us to a URL nobody allowlisted.
  const res = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/jwk-set+json, application/json' } });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_JWKS_BYTES) {
    await res.body?.cancel();
    throw new Error('the JWK Set is too large');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_JWKS_BYTES) throw new Error('the JWK Set is too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function withoutTrailingSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

export function createClientVerifier(opts: ClientVerifierOptions): VerifyClient {
  const tolerance = opts.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  const ttlMs = (opts.jwksCacheTtlSec ?? DEFAULT_JWKS_TTL_SEC) * 1000;
  const minRefreshMs = (opts.jwksMinRefreshSec ?? DEFAULT_JWKS_MIN_REFRESH_SEC) * 1000;
  const timeoutMs = opts.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS;
  const fetchJwks = opts.fetchJwks ?? fetchJwksOverHttp;
  const now = opts.now ?? (() => new Date());
  const publicUrl = withoutTrailingSlash(opts.publicUrl);
  const byIss = new Map(opts.clients.map((c) => [c.iss, c]));

  const cache = new Map<string, JwksCacheEntry>();
  /** Last fetch attempt per URL, successful or not: failures are rate-limited too. */
  const lastAttempt = new Map<string, number>();
  const inFlight = new Map<string, Promise<JwksCacheEntry>>();
  const imported = new WeakMap<PublicJwk, Map<string, CryptoKey | Uint8Array>>();

  function load(url: string): Promise<JwksCacheEntry> {
    const running = inFlight.get(url);
    if (running) return running;
    lastAttempt.set(url, now().getTime());
    const p = (async () => {
      try {
        const keys = publicSigningKeys(await fetchJwks(url, AbortSignal.timeout(timeoutMs)));
        const entry = { keys, fetchedAt: now().getTime() };
        cache.set(url, entry);
        return entry;
      } catch (err) {
        throw unauthorized(`the JWK Set at ${url} could not be fetched: ${(err as Error).message}`);
      } finally {
        inFlight.delete(url);
      }
    })();
    inFlight.set(url, p);
    return p;
  }

  function pick(keys: readonly PublicJwk[], kid: string, alg: AcceptedAlgorithm): PublicJwk | undefined {
    return keys.find((k) => k.kid === kid && keyFitsAlgorithm(k, alg));
  }

  async function findKey(client: TrustedClient, jku: string | undefined, kid: string, alg: AcceptedAlgorithm): Promise<PublicJwk> {
    if (client.jwks) {
      const key = pick(client.jwks.keys, kid, alg);
      if (!key) throw unauthorized(`no key of trusted client ${client.iss} has kid "${kid}" and fits ${alg}`);
      return key;
    }
    if (jku === undefined) throw unauthorized(`the token of ${client.iss} has no jku header and the client's keys are listed only by jku`);
    if (!client.jku!.includes(jku)) throw unauthorized(`the token's jku ${jku} is not one that trusted client ${client.iss} lists`);

    const t = now().getTime();
    let entry = cache.get(jku);
    let fetchedNow = false;
    if (!entry || t - entry.fetchedAt >= ttlMs) {
      // Only a failed attempt can be this recent; do not retry it on every request.
      const since = t - (lastAttempt.get(jku) ?? -Infinity);
      if (since < minRefreshMs && !inFlight.has(jku)) throw unauthorized(`the JWK Set at ${jku} could not be fetched ${Math.round(since / 1000)} s ago; not retried yet`);
      entry = await load(jku);
      fetchedNow = true;
    }
    let key = pick(entry!.keys, kid, alg);
    // An unknown kid may mean the client rotated its keys: refetch once, at most once per interval.
    if (!key && !fetchedNow && t - (lastAttempt.get(jku) ?? -Infinity) >= minRefreshMs) {
      entry = await load(jku);
      key = pick(entry.keys, kid, alg);
    }
    if (!key) throw unauthorized(`no key in the JWK Set at ${jku} has kid "${kid}" and fits ${alg}`);
    return key;
  }

  async function cryptoKey(jwk: PublicJwk, alg: AcceptedAlgorithm): Promise<CryptoKey | Uint8Array> {
    let byAlg = imported.get(jwk);
    if (!byAlg) imported.set(jwk, (byAlg = new Map()));
    let key = byAlg.get(alg);
    if (!key) {
      try {
        key = await importJWK({ ...jwk }, alg);
      } catch {
        throw unauthorized(`key "${jwk.kid}" cannot be used for ${alg}`);
      }
      byAlg.set(alg, key);
    }
    return key;
  }

  function checkAudience(aud: JWTPayload['aud'], expected: string): void {
    const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!values.some((v) => typeof v === 'string' && withoutTrailingSlash(v) === withoutTrailingSlash(expected))) {
      throw unauthorized(`the token's aud does not name this endpoint (${expected})`);
    }
  }

  return async function verify(authorizationHeader, requestPath) {
    if (authorizationHeader === undefined || authorizationHeader === '') throw unauthorized('no Authorization header');
    // RFC 7235 §2.1: the scheme is case-insensitive.
    const m = /^Bearer +(\S+) *$/i.exec(authorizationHeader);
    if (!m) throw unauthorized('the Authorization header is not "Bearer <JWT>"');
    const token = m[1]!;
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw unauthorized('the bearer token is not a compact JWS');

    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw unauthorized('the bearer token cannot be decoded as a JWT');
    }
    const alg = header.alg;
    if (!isAcceptedAlgorithm(alg)) throw unauthorized(`the token's alg ${JSON.stringify(alg)} is not one of ES384, RS384, ES256, RS256`);
    if (typeof header.kid !== 'string' || header.kid === '') throw unauthorized('the token has no kid header');
    if (header.jku !== undefined && typeof header.jku !== 'string') throw unauthorized('the token\'s jku header is not a string');
    if (typeof unverified.iss !== 'string') throw unauthorized('the token has no iss claim');
    const client = byIss.get(unverified.iss);
    if (!client) throw unauthorized(`the token's iss ${unverified.iss} is not a trusted client`);

    const jwk = await findKey(client, header.jku, header.kid, alg);
    const key = await cryptoKey(jwk, alg);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: client.iss,
        clockTolerance: tolerance,
        currentDate: now(),
        requiredClaims: ['iss', 'exp', 'iat', 'jti'],
      }));
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw unauthorized(`the token of ${client.iss} failed verification (${e.code ?? 'error'}: ${e.message ?? ''})`);
    }

    const nowSec = Math.floor(now().getTime() / 1000);
    const exp = payload.exp!;
    const iat = payload.iat!;
    if (iat > nowSec + tolerance) throw unauthorized(`the token of ${client.iss} was issued in the future (iat ${iat}, now ${nowSec})`);
    if (exp - iat > MAX_TOKEN_LIFETIME_SEC) throw unauthorized(`the token of ${client.iss} lives ${exp - iat} s, more than ${MAX_TOKEN_LIFETIME_SEC} s`);
    checkAudience(payload.aud, publicUrl + requestPath);

    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw unauthorized(`the token of ${client.iss} has no usable jti`);
    if (payload.sub !== undefined && typeof payload.sub !== 'string') throw unauthorized(`the token of ${client.iss} has a sub that is not a string`);
    const tenantClaim = payload.tenant;
    if (tenantClaim !== undefined && typeof tenantClaim !== 'string') throw unauthorized(`the token of ${client.iss} has a tenant that is not a string`);
    if (client.tenant !== undefined && tenantClaim !== undefined && tenantClaim !== client.tenant) {
      throw unauthorized(`the token of ${client.iss} names a tenant other than the one configured for it`);
    }

    // Remembered until the last moment the token would still be accepted.
    const fresh = await opts.replay.rememberJti(client.iss, jti, new Date((exp + tolerance) * 1000));
    if (!fresh) throw unauthorized(`the jti of this token of ${client.iss} was used before (replay)`);

    const tenant = tenantClaim ?? client.tenant;
    return {
      iss: client.iss,
      jti,
      ...(payload.sub !== undefined ? { sub: payload.sub } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
      ...(client.fhirServers ? { fhirServers: [...client.fhirServers] } : {}),
    };
  };
}

/**
 * Express middleware: verifies the client JWT on every request it guards, except CORS preflights
 * (OPTIONS carries no Authorization header by design, Fetch standard §4.8). On success the
 * identity is in res.locals.client; on failure the reason is logged (never the token) and the
 * error goes to the error handler, which answers 401 with an empty body.
 */
export function requireClientJwt(verify: VerifyClient, log: Pick<Logger, 'warn'>): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'OPTIONS') {
      next();
      return;
    }
    // originalUrl keeps the mount path ("/cds-services/..."), which is what aud names.
    const path = req.originalUrl.split('?')[0]!;
    verify(req.headers.authorization, path).then(
      (client) => {
        res.locals.client = client;
        next();
      },
      (err: unknown) => {
        if (err instanceof HttpError && err.status === 401) log.warn({ reason: err.issue.diagnostics }, 'CDS client JWT rejected');
        next(err);
      },
    );
  };
}

export interface FhirServerAllowOptions {
  /** Authentication is off (development): loopback FHIR servers are allowed besides extraAllowed. */
  devLoopbackOnly: boolean;
  /** Deployment-wide FHIR base URLs (RISKCARDS_FHIR_ALLOWLIST). "*" is not honoured. */
  extraAllowed: readonly string[];
}

function normalisedBase(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  return normaliseFhirBase(url);
}

/**
 * The SSRF guard: may the service call `fhirServer` for this client? Yes when, after WHATWG URL
 * normalisation (case, default port, dot segments, trailing slash), it equals an allowed base or
 * lies under it as a path ("https://ehr.example/fhir" allows ".../fhir/r4", not ".../fhir2").
 * Allowed bases: the client's fhirServers and extraAllowed; with devLoopbackOnly, also any
 * loopback host. A URL with credentials, a query or a fragment is never allowed.
 */
export function allowedFhirServer(client: ClientIdentity | TrustedClient | undefined, fhirServer: string, opts: FhirServerAllowOptions): boolean {
  const target = normalisedBase(fhirServer);
  if (!target) return false;
  if (opts.devLoopbackOnly && isLoopbackHost(new URL(target).hostname)) return true;
  const bases = [...(client?.fhirServers ?? []), ...opts.extraAllowed];
  return bases.some((raw) => {
    if (raw === '*') return false;
    const base = normalisedBase(raw);
    return base !== undefined && (target === base || target.startsWith(`${base}/`));
  });
}
