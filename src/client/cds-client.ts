/**
 * Acting as an EHR (a CDS client): key pairs and signed client JWTs as CDS Hooks 2.0 §Trusting
 * CDS Clients describes, hook requests, and prefetch filled from a FHIR server. Used by the
 * sandbox EHR and by `riskcards call`.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { renderPrefetchTemplate } from '../cds/prefetch-template.ts';

export interface ClientKey {
  kid: string;
  alg: 'ES384';
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A fresh ES384 key pair (the algorithm the official CDS Hooks Sandbox signs with). */
export async function createClientKey(): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
  return { kid, alg: 'ES384', privateJwk, publicJwk };
}

export function publicJwks(key: ClientKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/**
 * A client JWT for one call: `aud` is the exact URL being called (discovery, service or
 * feedback endpoint), lifetime 5 minutes, a fresh jti.
 */
export async function signClientJwt(key: ClientKey, claims: { iss: string; aud: string; sub?: string; tenant?: string; jku?: string }): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, key.alg);
  const jwt = new SignJWT({ ...(claims.tenant ? { tenant: claims.tenant } : {}) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...(claims.jku ? { jku: claims.jku } : {}) })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID());
  if (claims.sub) jwt.setSubject(claims.sub);
  return jwt.sign(privateKey);
}

export interface HookCall {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  context: Record<string, unknown>;
  prefetch?: Record<string, unknown>;
}

async function getFhir(url: string, accessToken?: string): Promise<any> {
  const res = await fetch(url, {
    headers: { accept: 'application/fhir+json', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`The FHIR server answered ${res.status} to a prefetch query.`);
  return res.json();
}

/** Runs one prefetch query; a search is read to its last page and returned as one searchset Bundle. */
export async function readPrefetchQuery(fhirBase: string, relative: string, accessToken?: string): Promise<unknown> {
  const first = await getFhir(`${fhirBase.replace(/\/+$/, '')}/${relative}`, accessToken);
  if (first?.resourceType !== 'Bundle') return first;
  const entry = [...(first.entry ?? [])];
  let next: string | undefined = first.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
  for (let pages = 0; next && pages < 100; pages++) {
    const page = await getFhir(next, accessToken);
    entry.push(...(page.entry ?? []));
    next = page.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, ...(entry.length ? { entry } : {}) };
}

/** Fills every prefetch template from the FHIR server, as an EHR would before calling a service. */
export async function fillPrefetch(fhirBase: string, templates: Record<string, string>, context: Record<string, unknown>, accessToken?: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(templates)) out[key] = await readPrefetchQuery(fhirBase, renderPrefetchTemplate(template, context), accessToken);
  return out;
}

export function hookCall(hook: string, patientId: string, opts: { userId?: string; fhirServer?: string; prefetch?: Record<string, unknown> } = {}): HookCall {
  return {
    hook,
    hookInstance: randomUUID(),
    ...(opts.fhirServer ? { fhirServer: opts.fhirServer } : {}),
    context: { userId: opts.userId ?? 'Practitioner/example', patientId },
    ...(opts.prefetch ? { prefetch: opts.prefetch } : {}),
  };
}
