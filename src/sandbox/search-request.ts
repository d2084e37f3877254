/**
 * Checks a FHIR search's parameters the way a strict server does (FHIR R4 search.html#errors:
 * a server SHALL return 400 for parameters it does not understand when the client has not asked
 * for lenient handling) and normalises what @medplum/fhir-router's in-memory search expects.
 */
import { getSearchParameter } from '@medplum/core';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface SearchRequest {
  /** The search as the client asked it (ids normalised), without paging: for links. */
  filters: URLSearchParams;
  /** The same filters as the search engine runs them: no _sort, no paging. */
  engine: URLSearchParams;
  sort?: string;
  /** The one patient the search is limited to, when it is ("Patient/1" in patient= or subject=). */
  patientId?: string;
  count: number;
  offset: number;
}

export class SearchParameterError extends Error {
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
    this.name = 'SearchParameterError';
  }
}

/** Result parameters that change nothing here: totals are always accurate and JSON is the only format. */
const IGNORED = new Set(['_total', '_format', '_pretty']);

export function parseSearchRequest(resourceType: string, params: URLSearchParams): SearchRequest {
  const filters = new URLSearchParams();
  const engine = new URLSearchParams();
  let count = DEFAULT_PAGE_SIZE;
  let offset = 0;
  let sort: string | undefined;
  const patients: string[] = [];
  for (const [name, value] of params) {
    if (name === '_count') count = Math.min(nonNegativeInteger(name, value), MAX_PAGE_SIZE);
    else if (name === '_offset') offset = nonNegativeInteger(name, value);
    else if (name === '_sort') {
      sort = sort ? `${sort},${checkSort(resourceType, value)}` : checkSort(resourceType, value);
      filters.append(name, value);
    } else if (IGNORED.has(name)) continue;
    else {
      const normalised = checkFilter(resourceType, name, value);
      filters.append(name, normalised);
      engine.append(fasterEquivalent(resourceType, name), normalised);
      if (name === 'patient' || name === 'subject') patients.push(normalised);
    }
  }
  const only = patients.length === 1 ? /^Patient\/([^,/]+)$/.exec(patients[0]!)?.[1] : undefined;
  return { filters, engine, count, offset, ...(sort ? { sort } : {}), ...(only ? { patientId: only } : {}) };
}

/**
 * `patient` is defined as `X.subject.where(resolve() is Patient)` for most types; evaluating
 * resolve() per resource makes it ~30x slower than `subject` in the in-memory engine. Once the
 * value is a "Patient/id" reference both select the same resources, so the engine gets `subject`.
 */
function fasterEquivalent(resourceType: string, name: string): string {
  if (name !== 'patient') return name;
  const patient = getSearchParameter(resourceType, 'patient');
  const subject = getSearchParameter(resourceType, 'subject');
  return subject && patient?.expression?.includes(`${resourceType}.subject.where(resolve() is Patient)`) ? 'subject' : name;
}

function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new SearchParameterError(`${name} must be a whole number of 0 or more.`, name);
  return Number(value);
}

function checkSort(resourceType: string, value: string): string {
  for (const field of value.split(',')) {
    const code = field.startsWith('-') ? field.slice(1) : field;
    if (!getSearchParameter(resourceType, code)) {
      throw new SearchParameterError(`_sort names "${code}", which is not a search parameter of ${resourceType}.`, '_sort');
    }
  }
  return value;
}

function checkFilter(resourceType: string, name: string, value: string): string {
  if (name.includes('.')) throw new SearchParameterError(`Chained search parameters ("${name}") are not supported.`, name);
  const code = name.split(':', 1)[0]!;
  const definition = getSearchParameter(resourceType, code);
  if (!definition) throw new SearchParameterError(`"${code}" is not a search parameter of ${resourceType}.`, name);
  // A bare id is valid for a reference parameter with one target type (search.html#reference);
  // the in-memory engine only matches "Type/id", so the type is added here.
  const targets = definition.target ?? [];
  if (definition.type === 'reference' && targets.length === 1 && name === code) {
    return value
      .split(',')
      .map((v) => (v.includes('/') || v.startsWith('urn:') ? v : `${targets[0]}/${v}`))
      .join(',');
  }
  return value;
}
