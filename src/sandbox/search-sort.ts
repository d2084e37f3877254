/**
 * `_sort` for the sandbox server. @medplum/fhir-router's in-memory search evaluates FHIRPath
 * inside the sort comparator (~0.5 s for 180 Observations); here each resource's sort key is
 * computed once. Rules from FHIR R4 search.html#_sort: fields in order, "-" for descending; a
 * repeating element sorts by its lowest value ascending and its highest value descending.
 * Resources without a value come last either way.
 */
import type { Resource } from 'fhir/r4.js';
import { evalFhirPath, getSearchParameter } from '@medplum/core';

type Key = number | string;

export function sortResources<T extends Resource>(resourceType: string, resources: T[], sort: string): T[] {
  const rules = sort.split(',').map((field) => {
    const descending = field.startsWith('-');
    const code = descending ? field.slice(1) : field;
    const param = getSearchParameter(resourceType, code);
    return { descending, type: param?.type ?? 'string', expression: param?.expression ?? '' };
  });
  const keyed = resources.map((resource, index) => ({
    resource,
    index,
    keys: rules.map((rule) => pick(valuesOf(rule.expression, resource).flatMap((v) => keysOf(v, rule.type, rule.descending)), rule.descending)),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < rules.length; i++) {
      const c = compare(a.keys[i], b.keys[i], rules[i]!.descending);
      if (c !== 0) return c;
    }
    return a.index - b.index;
  });
  return keyed.map((k) => k.resource);
}

function valuesOf(expression: string, resource: Resource): unknown[] {
  if (!expression) return [];
  try {
    return evalFhirPath(expression, resource);
  } catch {
    return [];
  }
}

function keysOf(value: unknown, type: string, descending: boolean): Key[] {
  if (value === null || value === undefined) return [];
  if (type === 'date') {
    if (typeof value === 'string') return dateKey(value);
    const period = value as { start?: string; end?: string };
    return dateKey((descending ? (period.end ?? period.start) : (period.start ?? period.end)) ?? '');
  }
  if (typeof value === 'number') return [value];
  if (typeof value === 'string') return [type === 'string' ? value.toLowerCase() : value];
  if (typeof value === 'boolean') return [String(value)];
  const v = value as Record<string, unknown>;
  if (typeof v.value === 'number') return [v.value];
  if (Array.isArray(v.coding)) return v.coding.flatMap((c) => keysOf(c, type, descending));
  for (const field of ['reference', 'code', 'family', 'text', 'display', 'value']) {
    if (typeof v[field] === 'string') return [type === 'string' ? (v[field] as string).toLowerCase() : (v[field] as string)];
  }
  return [];
}

function dateKey(text: string): Key[] {
  const t = Date.parse(text.length === 4 ? `${text}-01-01` : text.length === 7 ? `${text}-01` : text);
  return Number.isNaN(t) ? [] : [t];
}

function pick(keys: Key[], descending: boolean): Key | undefined {
  if (!keys.length) return undefined;
  return keys.reduce((best, k) => (compare(k, best, descending) < 0 ? k : best));
}

function compare(a: Key | undefined, b: Key | undefined, descending: boolean): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return descending ? -c : c;
}
