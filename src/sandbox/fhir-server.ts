/**
 * A real FHIR R4 server on loopback for the sandbox and for tests: @medplum/fhir-router's search
 * engine over an in-memory repository, behind node:http. It adds what that router leaves out:
 * /metadata, paging links (self/first/previous/next with _count/_offset), POST _search with a
 * form body (the CDS Hooks Sandbox fills prefetch that way first), strict parameter checks
 * (400), OperationOutcome errors and an optional bearer-token check.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bundle, BundleLink, CapabilityStatement, CapabilityStatementRestResource, OperationOutcome, Resource } from 'fhir/r4.js';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { getSearchParameters, getStatus, isOk, isResourceType } from '@medplum/core';
import { ensureFhirDefinitionsIndexed } from './fhir-definitions.ts';
import { bundleResources } from './bundle-resources.ts';
import { parseSearchRequest, SearchParameterError } from './search-request.ts';
import { sortResources } from './search-sort.ts';

export interface FhirServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  bundles: Bundle[];
  /** The address clients see (links use it); defaults to http://host:port + basePath. */
  baseUrl?: string;
  /** Path the server answers under. */
  basePath?: string;
  /** When set, every request but /metadata must carry `Authorization: Bearer <accessToken>`. */
  accessToken?: string;
  /** Waits this long before each answer, to show what a slow EHR does to a time budget. */
  delayMs?: number;
  /**
   * Browser origins allowed to call this server (e.g. https://sandbox.cds-hooks.org, whose page
   * reads the FHIR server itself). Exact matches only; no credentials are ever allowed.
   */
  corsOrigins?: string[];
}

export interface RunningFhirServer {
  url: string;
  close(): Promise<void>;
  /** HTTP requests served so far, errors included. */
  readonly requests: number;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const MAX_FORM_BODY = 64 * 1024;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** Matches one search can hold; far above any fixture patient's record. */
const MAX_MATCHES = 100_000;
const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * One repository with everything (reads, searches across patients) and one per patient holding
 * every resource that refers to that patient anywhere: a search limited to one patient runs over
 * that patient's few hundred resources instead of every patient's thousands. The engine still
 * applies every filter, so a superset per patient is enough for exact answers.
 */
class PatientPartitions {
  readonly all = new MemoryRepository();
  private readonly patients = new Map<string, MemoryRepository>();
  private readonly empty = new MemoryRepository();

  async add(resource: Resource): Promise<void> {
    await this.all.createResource(resource as never);
    const ids = new Set<string>();
    if (resource.resourceType === 'Patient' && resource.id) ids.add(resource.id);
    collectPatientReferences(resource, ids);
    for (const id of ids) {
      let repo = this.patients.get(id);
      if (!repo) this.patients.set(id, (repo = new MemoryRepository()));
      await repo.createResource(resource as never);
    }
  }

  forPatient(id: string): MemoryRepository {
    return this.patients.get(id) ?? this.empty;
  }
}

function collectPatientReferences(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) collectPatientReferences(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') {
        const id = PATIENT_REFERENCE.exec(v)?.[1];
        if (id) into.add(id);
      } else collectPatientReferences(v, into);
    }
  }
}

class FhirHttpError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue[0]?.diagnostics ?? String(status));
  }
}

function outcome(status: number, code: OperationOutcome['issue'][number]['code'], diagnostics: string, expression?: string): FhirHttpError {
  return new FhirHttpError(status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) }],
  });
}

export async function startFhirServer(options: FhirServerOptions): Promise<RunningFhirServer> {
  ensureFhirDefinitionsIndexed();
  const router = new FhirRouter();
  const store = new PatientPartitions();
  const types = new Set<string>(['Patient']);
  for (const bundle of options.bundles) {
    for (const resource of bundleResources(bundle)) {
      await store.add(resource);
      types.add(resource.resourceType);
    }
  }

  const basePath = (options.basePath ?? '/fhir').replace(/\/+$/, '');
  const tokenDigest = options.accessToken ? sha256(options.accessToken) : undefined;
  let base = options.baseUrl?.replace(/\/+$/, '') ?? '';
  let requests = 0;

  async function route(req: IncomingMessage): Promise<{ status: number; body: Resource }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) throw outcome(404, 'not-found', 'No such path on this FHIR server.');
    let segments: string[];
    try {
      segments = url.pathname.slice(basePath.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw outcome(400, 'invalid', 'The path is not valid percent-encoding.');
    }

    if (req.method === 'GET' && segments.length === 1 && segments[0] === 'metadata') {
      return { status: 200, body: capabilityStatement(base, [...types].sort(), Boolean(tokenDigest)) };
    }
    if (tokenDigest && !bearerMatches(req.headers.authorization, tokenDigest)) {
      throw outcome(401, 'login', 'A valid bearer token is required.');
    }
    const [type, second, ...rest] = segments;
    if (!type || rest.length) throw outcome(404, 'not-found', 'No such path on this FHIR server.');
    if (!isResourceType(type)) throw outcome(404, 'not-supported', `"${type}" is not a FHIR R4 resource type.`);

    if (req.method === 'GET' && second === undefined) return search(type, url.searchParams);
    if (req.method === 'POST' && second === '_search') {
      const form = await readForm(req);
      const params = new URLSearchParams(url.searchParams);
      for (const [k, v] of form) params.append(k, v);
      return search(type, params);
    }
    if (req.method === 'GET' && second !== undefined) {
      if (!ID.test(second)) throw outcome(400, 'invalid', 'A resource id has 1-64 letters, digits, "-" or ".".');
      const [oo, resource] = await router.handleRequest({ method: 'GET', url: `${type}/${second}`, pathname: '', body: undefined, params: {}, query: {} }, store.all);
      if (!isOk(oo) || !resource) throw outcome(getStatus(oo) === 404 ? 404 : 500, 'not-found', `${type}/${second} is not known.`);
      return { status: 200, body: resource as Resource };
    }
    throw outcome(405, 'not-supported', 'This server only reads and searches (GET, POST _search).');
  }

  async function search(type: string, params: URLSearchParams): Promise<{ status: number; body: Bundle }> {
    let parsed;
    try {
      parsed = parseSearchRequest(type, params);
    } catch (e) {
      if (e instanceof SearchParameterError) throw outcome(400, 'invalid', e.message, e.parameter);
      throw e;
    }
    const { filters, engine, count, offset, sort, patientId } = parsed;
    // The whole match set is fetched and paged here, so that _sort and paging agree page to page.
    engine.set('_count', String(MAX_MATCHES));
    const repo = patientId === undefined ? store.all : store.forPatient(patientId);
    const [oo, result] = await router.handleRequest({ method: 'GET', url: `${type}?${engine}`, pathname: '', body: undefined, params: {}, query: {} }, repo);
    if (!isOk(oo) || !result) {
      const status = getStatus(oo);
      const text = oo.issue?.[0]?.details?.text ?? 'The search could not be run.';
      throw outcome(status >= 400 && status < 500 ? 400 : 500, 'invalid', text);
    }
    const found = result as Bundle;
    let matches = (found.entry ?? []).map((e) => e.resource!).filter(Boolean);
    if (sort) matches = sortResources(type, matches, sort);
    const total = matches.length;
    const page = (o: number) => {
      const q = new URLSearchParams(filters);
      q.set('_count', String(count));
      q.set('_offset', String(o));
      return `${base}/${type}?${q}`;
    };
    const link: BundleLink[] = [
      { relation: 'self', url: page(offset) },
      { relation: 'first', url: page(0) },
    ];
    if (offset > 0) link.push({ relation: 'previous', url: page(Math.max(0, offset - Math.max(count, 1))) });
    if (count > 0 && offset + count < total) link.push({ relation: 'next', url: page(offset + count) });
    const entry = matches.slice(offset, offset + count).map((resource) => ({
      fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' as const },
    }));
    return {
      status: 200,
      body: { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type: 'searchset', total, link, ...(entry.length ? { entry } : {}) },
    };
  }

  const corsOrigins = new Set(options.corsOrigins ?? []);
  const server = createServer((req, res) => {
    requests++;
    const origin = req.headers.origin;
    if (origin && corsOrigins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'authorization, content-type, accept',
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
    }
    void answer(req, res);
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let status: number;
    let body: Resource;
    try {
      ({ status, body } = await route(req));
    } catch (e) {
      if (e instanceof FhirHttpError) ({ status, body } = { status: e.status, body: e.outcome });
      else ({ status, body } = { status: 500, body: outcome(500, 'exception', 'Internal server error.').outcome });
    }
    if (options.delayMs) await sleep(options.delayMs);
    if (res.destroyed) return;
    const headers: Record<string, string> = { 'content-type': FHIR_JSON, 'cache-control': 'no-store' };
    if (status === 401) headers['www-authenticate'] = 'Bearer';
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  if (!base) base = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${basePath}`;

  return {
    url: base,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares digests so the check takes the same time whatever the token's length or content. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  return Boolean(m) && timingSafeEqual(sha256(m![1]!), expected);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BODY) throw outcome(413, 'too-costly', 'The search form is too large.');
    chunks.push(chunk);
  }
  if (size === 0) return new URLSearchParams();
  if (type !== 'application/x-www-form-urlencoded') {
    throw outcome(415, 'not-supported', 'POST _search takes an application/x-www-form-urlencoded body (FHIR R4 http.html#search).');
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function capabilityStatement(base: string, types: string[], secured: boolean): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'RiskCards sandbox FHIR server' },
    implementation: { description: 'In-memory FHIR R4 server for the RiskCards sandbox and tests', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        ...(secured
          ? {
              security: {
                service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
                description: 'Bearer token required on every request except /metadata.',
              },
            }
          : {}),
        resource: types.map((type) => ({
          type: type as CapabilityStatementRestResource['type'],
          interaction: [{ code: 'read' }, { code: 'search-type' }],
          searchParam: Object.values(getSearchParameters(type) ?? {})
            .filter((p) => !p.url?.includes('medplum'))
            .map((p) => ({
            name: p.code ?? '',
            type: p.type as 'string',
              ...(p.url ? { definition: p.url } : {}),
            })),
        })),
      },
    ],
  };
}
