/**
 * What a prefetch value or a FHIR server's answer holds. CDS Hooks 2.0 §Prefetch: a key with no
 * data is `null`; a search with no matches is a Bundle without entries; an OperationOutcome tells
 * that the client could not get the data.
 */
import type { Bundle, Resource } from 'fhir/r4.js';

export type Contents =
  | { kind: 'resources'; resources: Resource[] }
  | { kind: 'no-data' }
  | { kind: 'outcome' }
  | { kind: 'malformed' };

const MAX_DEPTH = 3;

export function isResource(value: unknown): value is Resource {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

export function contentsOf(value: unknown): Contents {
  if (value === null) return { kind: 'no-data' };
  if (!isResource(value)) return { kind: 'malformed' };
  if (value.resourceType === 'OperationOutcome') return { kind: 'outcome' };
  if (value.resourceType !== 'Bundle') return { kind: 'resources', resources: [value] };
  const resources = flattenBundle(value as Bundle);
  return resources.length ? { kind: 'resources', resources } : { kind: 'no-data' };
}

/**
 * The resources in a Bundle, nested Bundles (batch responses) opened; OperationOutcome entries
 * (search mode "outcome", failed batch items) and entries without a resource are left out.
 */
export function flattenBundle(bundle: Bundle, depth = 0): Resource[] {
  const out: Resource[] = [];
  for (const entry of Array.isArray(bundle.entry) ? bundle.entry : []) {
    const resource: unknown = entry?.resource;
    if (!isResource(resource) || resource.resourceType === 'OperationOutcome') continue;
    if (resource.resourceType === 'Bundle') {
      if (depth < MAX_DEPTH) out.push(...flattenBundle(resource as Bundle, depth + 1));
    } else out.push(resource);
  }
  return out;
}
