/**
 * Fetches one rendered prefetch query from the EHR's FHIR server with fhir-kit-client, following
 * `next` links, inside a deadline shared by every request of the hook call. Failure is a value
 * ('unavailable' with a reason for the operator), never an exception or a hang: a slow, down,
 * unauthorised or broken server costs at most the budget.
 */
import { Client } from 'fhir-kit-client';
import type { Bundle, Resource } from 'fhir/r4.js';
import { flattenBundle, isResource } from './bundle-contents.ts';

export interface FetchLimits {
  /** Epoch milliseconds (performance.now() clock) by which every request must have answered. */
  deadline: number;
  /** Pages followed per query, the first included. */
  maxPages: number;
  /** Resources kept across all queries of one call; shared and decremented. */
  budget: { resources: number };
}

export type FetchResult =
  | { status: 'fetched'; resources: Resource[]; truncated: boolean }
  | { status: 'no-data'; resources: [] }
  | { status: 'unavailable'; resources: []; reason: string };

/** One client per FHIR base URL (PLATFORM.md); the token is never kept on it, only sent per request. */
const clients = new Map<string, Client>();
const MAX_CLIENTS = 64;

function clientFor(baseUrl: string): Client {
  let client = clients.get(baseUrl);
  if (!client) {
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
    client = new Client({ baseUrl });
    clients.set(baseUrl, client);
  }
  return client;
}

class FetchFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const NOT_FOUND = 'not-found';

/** A read ("Patient/123") as opposed to a search ("Observation?patient=123"). */
const READ = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.%]{1,200})$/;

export async function fetchQuery(baseUrl: string, query: string, accessToken: string | undefined, limits: FetchLimits): Promise<FetchResult> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(query) || query.startsWith('//')) {
    return unavailable('the prefetch template is not relative to the FHIR server');
  }
  const client = clientFor(baseUrl);
  const headers: Record<string, string> = { accept: 'application/fhir+json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const get = (url: string) => request(client, url, headers, limits.deadline);

  try {
    const read = READ.exec(query);
    const first = await get(query);
    if (read) {
      if (first.resourceType !== read[1]) return unavailable(`the FHIR server answered a read with ${describe(first)}`);
      return take([first], limits, false);
    }
    if (first.resourceType !== 'Bundle') return unavailable(`the FHIR server answered a search with ${describe(first)}`);

    const resources = flattenBundle(first as Bundle);
    const seen = new Set<string>();
    let page = first as Bundle;
    let pages = 1;
    let truncated = false;
    for (;;) {
      const next = nextLink(page);
      if (!next) break;
      if (pages >= limits.maxPages || resources.length >= limits.budget.resources || seen.has(next)) {
        truncated = true;
        break;
      }
      // The token goes only where the EHR said its FHIR server is (CDS Hooks 2.0 §FHIR Resource Access).
      if (!sameServer(next, baseUrl)) return unavailable('a next link points away from the FHIR server');
      seen.add(next);
      const answer = await get(next);
      if (answer.resourceType !== 'Bundle') return unavailable(`the FHIR server answered a page with ${describe(answer)}`);
      page = answer as Bundle;
      pages++;
      resources.push(...flattenBundle(page));
    }
    return take(resources, limits, truncated);
  } catch (e) {
    if (e instanceof FetchFailure) {
      // A read of an unknown id means the record has no such resource; a search that is "not
      // found" means the endpoint is wrong, which says nothing about the patient.
      if (e.reason === NOT_FOUND) return READ.test(query) ? { status: 'no-data', resources: [] } : unavailable('the FHIR server answered HTTP 404 to a search');
      return unavailable(e.reason);
    }
    return unavailable('the FHIR answer could not be read');
  }
}

function unavailable(reason: string): FetchResult {
  return { status: 'unavailable', resources: [], reason };
}

function take(resources: Resource[], limits: FetchLimits, truncated: boolean): FetchResult {
  if (resources.length === 0) return { status: 'no-data', resources: [] };
  const room = Math.max(0, limits.budget.resources);
  const kept = resources.slice(0, room);
  limits.budget.resources -= kept.length;
  return { status: 'fetched', resources: kept, truncated: truncated || kept.length < resources.length };
}

function describe(value: Resource): string {
  return value.resourceType === 'OperationOutcome' ? 'an OperationOutcome' : `a ${value.resourceType}`;
}

function nextLink(bundle: Bundle): string | undefined {
  const link = Array.isArray(bundle.link) ? bundle.link.find((l) => l?.relation === 'next') : undefined;
  return typeof link?.url === 'string' && link.url ? link.url : undefined;
}

function sameServer(url: string, baseUrl: string): boolean {
  try {
    const u = new URL(url);
    const b = new URL(baseUrl);
    const basePath = b.pathname.replace(/\/+$/, '');
    return u.origin === b.origin && (u.pathname === basePath || u.pathname.startsWith(`${basePath}/`));
  } catch {
    return false;
  }
}

async function request(client: Client, url: string, headers: Record<string, string>, deadline: number): Promise<Resource> {
  const remaining = Math.floor(deadline - performance.now());
  if (remaining <= 0) throw new FetchFailure('the time budget ran out');
  let answer: unknown;
  try {
    answer = await client.request(url, { options: { headers, signal: AbortSignal.timeout(remaining) } });
  } catch (e) {
    throw new FetchFailure(failureReason(e));
  }
  if (!isResource(answer)) throw new FetchFailure('the FHIR server answered with something that is not a FHIR resource');
  return answer;
}

/** A reason for the operator; built from the status alone, so no URL, header or body can leak into it. */
function failureReason(e: unknown): string {
  const err = e as { name?: unknown; response?: { status?: unknown; data?: unknown } } | null;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'the FHIR server did not answer within the time budget';
  const status = err?.response?.status;
  if (typeof status === 'number') {
    if (status === 404 || status === 410) return NOT_FOUND;
    if (status >= 200 && status < 300) return 'the FHIR server answered with something that is not JSON';
    return `the FHIR server answered HTTP ${status}`;
  }
  return 'the FHIR server could not be reached';
}
