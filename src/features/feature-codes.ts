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
      // Observations a formula falls back on (serum creatinine for eGFR).
      for (const o of Object.values(f.fallback?.observations ?? {})) add('Observation', o.codes);
    } else if (f.source === 'coded-flag') {
      for (const e of f.evidence) add(e.resourceType, e.codes);
    }
  }
  return out;
}

/** A predicate telling whether a CodeableConcept carries one of `refs` (prefix codes included). */
export function codeMatcher(refs: readonly CodeRef[]): (concept: { coding?: { system?: string; code?: string }[] } | undefined) => boolean {
  const exact = new Map<string, Set<string>>();
  for (const r of refs) if (!r.prefix) exact.set(r.system, (exact.get(r.system) ?? new Set()).add(r.code));
  const prefixes = refs.filter((r) => r.prefix);
  return (concept) => {
    const coding: unknown = concept?.coding;
    if (!Array.isArray(coding)) return false;
    for (const c of coding) {
      if (c === null || typeof c !== 'object' || typeof c.code !== 'string') continue;
      if (exact.get(c.system)?.has(c.code)) return true;
      for (const p of prefixes) if (p.system === c.system && c.code.startsWith(p.code)) return true;
    }
    return false;
  };
}
