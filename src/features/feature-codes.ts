/**
 * Which codes a model reads, per resource type: used to publish prefetch queries that match the
 * feature specs and to keep only relevant resources when scoring a bulk export.
 */
import type { CodeRef, FeatureSpec } from './feature-spec.ts';

export function codesReadByModel(features: readonly FeatureSpec[]): Map<string, CodeRef[]> {
  const out = new Map<string, CodeRef[]>();
  const add = (type: string, refs: readonly CodeRef[]) => out.set(type, [...(out.get(type) ?? []), ...refs]);
  for (const f of features) {
    if (f.source === 'observation-quantity') {
      add('Observation', f.codes);
      for (const p of f.panels ?? []) add('Observation', p.codes);
    } else if (f.source === 'coded-flag') {
      for (const e of f.evidence) add(e.resourceType, e.codes);
    }
  }
  return out;
}

/** A predicate telling whether a CodeableConcept carries one of `refs` (prefix codes included). */
export function codeMatcher(refs: readonly CodeRef[]): (concept: { coding?: { system?: string; code?: string }[] } | undefined) => boolean {
  const exact = new Set(refs.filter((r) => !r.prefix).map((r) => `${r.system}|${r.code}`));
  const prefixes = refs.filter((r) => r.prefix);
  return (concept) =>
    (concept?.coding ?? []).some(
      (c) => exact.has(`${c.system}|${c.code}`) || prefixes.some((p) => p.system === c.system && typeof c.code === 'string' && c.code.startsWith(p.code)),
    );
}
