/**
 * The patient data a CDS service call works on (CDS Hooks 2.0 §Prefetch, §FHIR Resource Access):
 * use what the EHR prefetched; fetch keys it left out (or answered with an OperationOutcome) from
 * its FHIR server, all within one time budget; refuse with 412 when a required key can be had
 * neither way. Data about any other patient is refused (the Patient) or dropped (the rest).
 */
import type { Patient, Resource } from 'fhir/r4.js';
import { badRequest, preconditionFailed } from '../errors.ts';
import { PrefetchTemplateError, renderPrefetchTemplate } from '../cds/prefetch-template.ts';
import { contentsOf } from './bundle-contents.ts';
import { fetchQuery, type FetchLimits, type FetchResult } from './fhir-fetch.ts';
import { belongsToPatient } from './patient-scope.ts';

export type KeyStatus = 'prefetched' | 'fetched' | 'no-data' | 'unavailable';

export interface KeyReport {
  status: KeyStatus;
  /** Resources kept from this key (after dropping other patients' and duplicates). */
  count: number;
  /** Why a key is unavailable or incomplete, for logs and the 412 message; never holds the token or data. */
  reason?: string;
}

export interface PatientData {
  patient: Patient;
  /** Every resource from every key, the Patient included; Bundles flattened; one per type/id. */
  resources: Resource[];
  keys: Record<string, KeyReport>;
  fetchMs: number;
}

export interface PatientDataRequest {
  templates: Record<string, string>;
  prefetch?: Record<string, unknown>;
  fhirServer?: string;
  accessToken?: string;
  context: Record<string, unknown>;
  budgetMs: number;
  /** Keys without which the service cannot answer (the Patient's key at least). */
  requiredKeys?: string[];
}

/** Pages followed per query and resources kept per call: bounds on what one EHR answer can cost. */
export const MAX_PAGES_PER_QUERY = 20;
export const MAX_RESOURCES = 10_000;

const PATIENT_TEMPLATE = /^Patient\/\{\{\s*context\.patientId\s*\}\}$/;

export async function gatherPatientData(req: PatientDataRequest): Promise<PatientData> {
  const started = performance.now();
  const patientId = req.context.patientId;
  if (typeof patientId !== 'string' || patientId === '') throw badRequest('context.patientId is required.', 'context.patientId');

  const patientKey = Object.keys(req.templates).find((k) => PATIENT_TEMPLATE.test(req.templates[k]!.trim())) ?? req.requiredKeys?.[0] ?? 'patient';
  const prefetch = req.prefetch ?? {};
  const keys: Record<string, KeyReport> = {};
  const found = new Map<string, Resource[]>();
  const toFetch: string[] = [];

  for (const key of Object.keys(req.templates)) {
    if (!Object.hasOwn(prefetch, key) || prefetch[key] === undefined) {
      toFetch.push(key);
      continue;
    }
    const value = prefetch[key];
    const contents = contentsOf(value);
    if (contents.kind === 'malformed') throw badRequest(`prefetch.${key} must be a FHIR resource, a Bundle or null.`, `prefetch.${key}`);
    if (contents.kind === 'no-data') keys[key] = { status: 'no-data', count: 0 };
    else if (contents.kind === 'outcome') {
      keys[key] = { status: 'unavailable', count: 0, reason: 'the EHR sent an OperationOutcome' };
      toFetch.push(key);
    } else {
      const single = contents.resources.length === 1 && contents.resources[0] === value ? contents.resources[0] : undefined;
      if (single?.resourceType === 'Patient' && single.id !== patientId) {
        throw badRequest(`prefetch.${key} is a Patient other than context.patientId.`, `prefetch.${key}`);
      }
      keys[key] = { status: 'prefetched', count: 0 };
      found.set(key, contents.resources);
    }
  }

  if (toFetch.length) {
    const fetched = await fetchKeys(toFetch, req, started);
    for (const [key, result] of fetched) {
      if (result.status === 'fetched') {
        keys[key] = { status: 'fetched', count: 0, ...(result.truncated ? { reason: 'stopped at the page or resource limit' } : {}) };
        found.set(key, result.resources);
      } else if (result.status === 'no-data') keys[key] = { status: 'no-data', count: 0 };
      else {
        const before = keys[key]?.reason;
        keys[key] = { status: 'unavailable', count: 0, reason: before ? `${before}; ${result.reason}` : result.reason };
      }
    }
  }

  const seen = new Set<string>();
  const resources: Resource[] = [];
  for (const key of Object.keys(req.templates)) {
    for (const resource of found.get(key) ?? []) {
      if (!belongsToPatient(resource, patientId)) continue;
      if (resource.id !== undefined) {
        const identity = `${resource.resourceType}/${resource.id}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
      }
      if (resources.length >= MAX_RESOURCES) break;
      resources.push(resource);
      keys[key]!.count++;
    }
  }

  for (const key of req.requiredKeys ?? []) {
    const report = keys[key];
    if (!report || report.status === 'unavailable') throw dataUnavailable(key, report?.reason ?? 'there is no prefetch template for it');
  }
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient' && r.id === patientId);
  if (!patient) throw dataUnavailable(patientKey, keys[patientKey]?.reason ?? 'no Patient with the id in context.patientId was found');

  return { patient, resources, keys, fetchMs: performance.now() - started };
}

function dataUnavailable(key: string, reason: string) {
  return preconditionFailed(`prefetch.${key} could be neither prefetched nor fetched: ${reason}.`, `prefetch.${key}`);
}

async function fetchKeys(toFetch: string[], req: PatientDataRequest, started: number): Promise<Map<string, FetchResult>> {
  const results = new Map<string, FetchResult>();
  const fhirServer = req.fhirServer;
  if (!fhirServer) {
    for (const key of toFetch) results.set(key, { status: 'unavailable', resources: [], reason: 'the EHR gave no fhirServer to fetch it from' });
    return results;
  }
  const limits: FetchLimits = { deadline: started + req.budgetMs, maxPages: MAX_PAGES_PER_QUERY, budget: { resources: MAX_RESOURCES } };
  const tasks = toFetch.map(async (key) => {
    let query: string;
    try {
      query = renderPrefetchTemplate(req.templates[key]!, req.context);
    } catch (e) {
      if (e instanceof PrefetchTemplateError) {
        results.set(key, { status: 'unavailable', resources: [], reason: `its template cannot be filled (${e.message})` });
        return;
      }
      throw e;
    }
    results.set(key, await fetchQuery(fhirServer, query, req.accessToken, limits));
  });

  // Each request carries its own abort signal; this timer is the backstop should anything not honour it.
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, limits.deadline - performance.now()) + 50);
  });
  await Promise.race([Promise.allSettled(tasks), backstop]);
  clearTimeout(timer);
  // A copy, so that a request finishing after the backstop cannot change what the caller got.
  const settled = new Map(results);
  for (const key of toFetch) {
    if (!settled.has(key)) settled.set(key, { status: 'unavailable', resources: [], reason: 'the FHIR server did not answer within the time budget' });
  }
  return settled;
}
