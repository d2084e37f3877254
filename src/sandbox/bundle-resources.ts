/**
 * Turns FHIR Bundles (Synthea transaction bundles, searchsets, collections) into the resources a
 * server stores: each keeps its own id, and `urn:uuid:` references between entries become
 * relative `Type/id` references, as a server does when it processes a transaction (FHIR R4
 * http.html#trules, "Resolving references in Bundles").
 */
import type { Bundle, Resource } from 'fhir/r4.js';
import { randomUUID } from 'node:crypto';

const URN_UUID = /^urn:uuid:([0-9a-fA-F-]{36})$/;

export function bundleResources(bundle: Bundle): Resource[] {
  const entries = (bundle.entry ?? []).filter((e) => e.resource && typeof e.resource.resourceType === 'string');
  const targets = new Map<string, string>();
  const withIds = entries.map((e) => {
    const resource = e.resource!;
    const uuid = e.fullUrl ? URN_UUID.exec(e.fullUrl)?.[1] : undefined;
    const id = resource.id ?? uuid ?? randomUUID();
    if (e.fullUrl) targets.set(e.fullUrl, `${resource.resourceType}/${id}`);
    return { ...resource, id };
  });
  return withIds.map((resource) => rewriteReferences(resource, targets) as Resource);
}

function rewriteReferences(value: unknown, targets: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, targets));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'reference' && typeof v === 'string' ? (targets.get(v) ?? v) : rewriteReferences(v, targets);
  }
  return out;
}
