/**
 * The CDS clients this service trusts, read once at start from a JSON file.
 *
 * CDS Hooks 2.0 "Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):
 * services SHOULD allowlist the `iss` and `jku` of the clients they trust. Each entry names one
 * issuer and where its public keys come from: either `jku` (a list of JWK Set URLs; a token's `jku`
 * header must be one of them, nothing else is ever fetched) or an inline `jwks`. An entry may also
 * carry a `tenant` and the `fhirServers` this service may call on that client's behalf (the SSRF
 * allowlist, see allowedFhirServer in auth.ts).
 *
 * Unsafe configurations are refused rather than discouraged: private keys, symmetric keys, keys
 * for algorithms the verifier does not accept, plain-http URLs other than loopback, unknown fields.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A public signing key as it appears in a JWK Set (RFC 7517), EC or RSA only. */
export interface PublicJwk {
  readonly kty: 'EC' | 'RSA';
  readonly kid: string;
  readonly alg?: string;
  readonly use?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

export interface TrustedClient {
  /** The `iss` claim the client puts in its JWTs; unique across the file. */
  readonly iss: string;
  /** JWK Set URLs the keys may be fetched from (exactly one of `jku` and `jwks` is set). */
  readonly jku?: readonly string[];
  /** Inline JWK Set. */
  readonly jwks?: { readonly keys: readonly PublicJwk[] };
  /** When set, a token's `tenant` claim, if present, must equal it. */
  readonly tenant?: string;
  /** FHIR base URLs (normalised, no trailing slash) this service may call for this client. */
  readonly fhirServers?: readonly string[];
}

export class TrustedClientsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid trusted clients:\n- ${problems.join('\n- ')}`);
    this.name = 'TrustedClientsError';
  }
}

/** The signature algorithms the verifier accepts, with the key each needs (RFC 7518 §3.1). */
export const ACCEPTED_ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256'] as const;
export type AcceptedAlgorithm = (typeof ACCEPTED_ALGORITHMS)[number];

export function isAcceptedAlgorithm(alg: unknown): alg is AcceptedAlgorithm {
  return typeof alg === 'string' && (ACCEPTED_ALGORITHMS as readonly string[]).includes(alg);
}

/** Whether a JWK can verify a signature made with `alg` (kty and curve must fit, and its own `alg`, if any). */
export function keyFitsAlgorithm(jwk: PublicJwk, alg: AcceptedAlgorithm): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (alg === 'ES256') return jwk.kty === 'EC' && jwk.crv === 'P-256';
  if (alg === 'ES384') return jwk.kty === 'EC' && jwk.crv === 'P-384';
  return jwk.kty === 'RSA';
}

const CLIENT_FIELDS = new Set(['iss', 'jku', 'jwks', 'tenant', 'fhirServers']);
/** RSA private-key members (RFC 7518 §6.3.2) besides "d". */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];
/** RS256/RS384 keys shorter than this are refused (RFC 7518 §3.3 requires at least 2048 bits). */
const MIN_RSA_BITS = 2048;

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '[::1]') return true;
  // WHATWG URL parsing has already turned shorthand forms ("127.1", "0x7f.1") into dotted quads.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Parses a URL the service will contact: https, or http only to a loopback host (local
 * development and tests); no credentials, no fragment. Returns the normalised URL or a problem.
 */
export function parseOutboundUrl(raw: unknown, opts: { allowQuery: boolean }): { url: URL } | { problem: string } {
  if (typeof raw !== 'string' || raw.trim() === '') return { problem: 'must be a non-empty string' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `must be an https URL, not "${raw}"` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return { problem: 'must be an https URL (plain http is accepted only for loopback hosts)' };
  }
  if (url.username || url.password) return { problem: 'must not contain a user name or password' };
  if (url.hash) return { problem: 'must not contain a fragment' };
  if (!opts.allowQuery && url.search) return { problem: 'must not contain a query' };
  return { url };
}

/** A FHIR base URL in the one form allowlists compare: WHATWG-normalised, no trailing slash. */
export function normaliseFhirBase(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function base64urlBytes(s: string): number {
  return Buffer.from(s, 'base64url').length;
}

/** Checks one inline JWK; returns problems (prefixed by the caller) or the key. */
function parseJwk(raw: unknown, where: string, problems: string[]): PublicJwk | undefined {
  if (!isRecord(raw)) {
    problems.push(`${where} must be a JSON object`);
    return undefined;
  }
  const before = problems.length;
  if (raw.kty === 'oct') {
    problems.push(`${where} is a symmetric key (kty "oct"); only EC and RSA public keys are accepted`);
    return undefined;
  }
  const priv = PRIVATE_MEMBERS.filter((m) => m in raw);
  if (priv.length) {
    problems.push(`${where} contains private key material ("${priv.join('", "')}"); list only the public key`);
    return undefined;
  }
  if (raw.kty !== 'EC' && raw.kty !== 'RSA') {
    problems.push(`${where}.kty must be "EC" or "RSA", not ${JSON.stringify(raw.kty)}`);
    return undefined;
  }
  if (typeof raw.kid !== 'string' || raw.kid === '') problems.push(`${where}.kid must be a non-empty string (tokens name their key by kid)`);
  if (raw.use !== undefined && raw.use !== 'sig') problems.push(`${where}.use must be "sig" when present`);
  if (raw.alg !== undefined && !isAcceptedAlgorithm(raw.alg)) {
    problems.push(`${where}.alg must be one of ${ACCEPTED_ALGORITHMS.join(', ')} when present, not ${JSON.stringify(raw.alg)}`);
  }
  if (raw.kty === 'EC') {
    if (raw.crv !== 'P-256' && raw.crv !== 'P-384') problems.push(`${where}.crv must be "P-256" or "P-384"`);
    else if (raw.alg !== undefined && raw.alg !== (raw.crv === 'P-256' ? 'ES256' : 'ES384')) problems.push(`${where}.alg does not fit curve ${raw.crv}`);
    if (typeof raw.x !== 'string' || typeof raw.y !== 'string') problems.push(`${where} must have string members x and y`);
  } else {
    if (typeof raw.n !== 'string' || typeof raw.e !== 'string') problems.push(`${where} must have string members n and e`);
    else if (base64urlBytes(raw.n) * 8 < MIN_RSA_BITS) problems.push(`${where} is an RSA key shorter than ${MIN_RSA_BITS} bits`);
    if (typeof raw.alg === 'string' && raw.alg.startsWith('ES')) problems.push(`${where}.alg does not fit an RSA key`);
  }
  if (problems.length > before) return undefined;
  try {
    // Proves the members describe a real public key (e.g. an EC point on the curve).
    createPublicKey({ key: raw as JsonWebKey, format: 'jwk' });
  } catch {
    problems.push(`${where} is not a valid ${raw.kty} public key`);
    return undefined;
  }
  const jwk: PublicJwk = {
    kty: raw.kty,
    kid: raw.kid as string,
    ...(typeof raw.alg === 'string' ? { alg: raw.alg } : {}),
    ...(typeof raw.use === 'string' ? { use: raw.use } : {}),
    ...(raw.kty === 'EC' ? { crv: raw.crv as string, x: raw.x as string, y: raw.y as string } : { n: raw.n as string, e: raw.e as string }),
  };
  return Object.freeze(jwk);
}

function parseClient(raw: unknown, label: string, problems: string[]): TrustedClient | undefined {
  if (!isRecord(raw)) {
    problems.push(`${label} must be a JSON object`);
    return undefined;
  }
  const iss = raw.iss;
  const at = typeof iss === 'string' && iss !== '' ? `${label} (iss ${iss})` : label;
  const before = problems.length;
  if (typeof iss !== 'string' || iss === '') problems.push(`${label}: iss must be a non-empty string`);
  for (const key of Object.keys(raw)) {
    if (!CLIENT_FIELDS.has(key)) problems.push(`${at}: unknown field "${key}" (known: ${[...CLIENT_FIELDS].join(', ')})`);
  }

  const hasJku = raw.jku !== undefined;
  const hasJwks = raw.jwks !== undefined;
  if (hasJku === hasJwks) problems.push(`${at}: give exactly one of "jku" (JWK Set URLs) and "jwks" (inline keys)`);

  let jku: string[] | undefined;
  if (hasJku) {
    if (!Array.isArray(raw.jku) || raw.jku.length === 0) problems.push(`${at}: jku must be a non-empty array of URLs`);
    else {
      jku = [];
      raw.jku.forEach((u, i) => {
        const parsed = parseOutboundUrl(u, { allowQuery: true });
        if ('problem' in parsed) problems.push(`${at}: jku[${i}] ${parsed.problem}`);
        // Kept exactly as written: a token's jku header is compared with it as a string.
        else jku!.push(u as string);
      });
    }
  }

  let keys: PublicJwk[] | undefined;
  if (hasJwks) {
    if (!isRecord(raw.jwks) || !Array.isArray(raw.jwks.keys) || raw.jwks.keys.length === 0) {
      problems.push(`${at}: jwks must be a JWK Set, an object with a non-empty "keys" array`);
    } else {
      keys = [];
      const kids = new Set<string>();
      raw.jwks.keys.forEach((k, i) => {
        const jwk = parseJwk(k, `${at}: jwks.keys[${i}]`, problems);
        if (!jwk) return;
        if (kids.has(jwk.kid)) problems.push(`${at}: jwks.keys[${i}].kid "${jwk.kid}" is used by an earlier key`);
        kids.add(jwk.kid);
        keys!.push(jwk);
      });
    }
  }

  let tenant: string | undefined;
  if (raw.tenant !== undefined) {
    if (typeof raw.tenant !== 'string' || raw.tenant === '') problems.push(`${at}: tenant must be a non-empty string when present`);
    else tenant = raw.tenant;
  }

  let fhirServers: string[] | undefined;
  if (raw.fhirServers !== undefined) {
    if (!Array.isArray(raw.fhirServers)) problems.push(`${at}: fhirServers must be an array of FHIR base URLs`);
    else {
      fhirServers = [];
      raw.fhirServers.forEach((u, i) => {
        const parsed = parseOutboundUrl(u, { allowQuery: false });
        if ('problem' in parsed) problems.push(`${at}: fhirServers[${i}] ${parsed.problem}`);
        else fhirServers!.push(normaliseFhirBase(parsed.url));
      });
    }
  }

  if (problems.length > before) return undefined;
  const client: TrustedClient = {
    iss: iss as string,
    ...(jku ? { jku: Object.freeze(jku) } : {}),
    ...(keys ? { jwks: Object.freeze({ keys: Object.freeze(keys) }) } : {}),
    ...(tenant ? { tenant } : {}),
    ...(fhirServers ? { fhirServers: Object.freeze(fhirServers) } : {}),
  };
  return Object.freeze(client);
}

/**
 * Validates a trusted-clients document. `source` (a file name) starts every problem sentence.
 * Entries are numbered from 1 as a person counts them; array members from 0 as JSON paths do.
 * Throws TrustedClientsError listing every problem.
 */
export function parseTrustedClients(json: unknown, source: string): TrustedClient[] {
  const problems: string[] = [];
  if (!Array.isArray(json)) throw new TrustedClientsError([`${source}: must be a JSON array of trusted clients`]);
  if (json.length === 0) throw new TrustedClientsError([`${source}: lists no trusted clients, so no CDS client could call the service`]);
  const clients: TrustedClient[] = [];
  const seen = new Map<string, number>();
  json.forEach((entry, i) => {
    const label = `${source}: trusted client ${i + 1}`;
    const client = parseClient(entry, label, problems);
    if (!client) return;
    const earlier = seen.get(client.iss);
    if (earlier !== undefined) problems.push(`${label} (iss ${client.iss}): iss is already used by trusted client ${earlier}`);
    else seen.set(client.iss, i + 1);
    clients.push(client);
  });
  if (problems.length) throw new TrustedClientsError(problems);
  return Object.freeze(clients) as TrustedClient[];
}

export function loadTrustedClients(path: string): TrustedClient[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TrustedClientsError([`the trusted clients file ${path} cannot be read (${code})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TrustedClientsError([`the trusted clients file ${path} is not valid JSON: ${(err as Error).message}`]);
  }
  return parseTrustedClients(json, path);
}
