/**
 * The request bodies the benchmark sends: a patient-view call for one Synthea fixture patient,
 * with prefetch filled from a real FHIR server exactly as an EHR would (CDS Hooks 2.0 §Prefetch),
 * and the same call without prefetch (the service then fetches from `fhirServer`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from 'fhir/r4.js';

/** Date-bearing elements of the resource types in the fixtures. */
const DATE_KEYS = new Set(['effectiveDateTime', 'issued', 'authoredOn', 'onsetDateTime', 'recordedDate', 'performedDateTime', 'start', 'end']);

export function readFixtureBundles(dir: string): Map<string, Bundle> {
  const out = new Map<string, Bundle>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    out.set(f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Bundle);
  }
  return out;
}

/** The newest date anywhere in the record: the benchmark's "now" is set just after it. */
export function lastRecordDate(bundle: Bundle): Date {
  let last = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (DATE_KEYS.has(k) && typeof x === 'string') {
          const t = Date.parse(x);
          if (Number.isFinite(t) && t > last) last = t;
        } else walk(x);
      }
    }
  };
  walk(bundle.entry ?? []);
  if (!last) throw new Error('The fixture bundle has no dated resource.');
  return new Date(last);
}

/**
 * Observation codes of the Pooled Cohort Equations inputs (total cholesterol 2093-3, HDL 2085-9,
 * BP panels 85354-9 / 55284-4 with systolic 8480-6, smoking status 72166-2), used only while the
 * model package cannot be read; the normal path takes the codes from the model's manifest.
 */
const FALLBACK_OBSERVATION_CODES = ['2093-3', '2085-9', '85354-9', '55284-4', '8480-6', '72166-2'].map((c) => `http://loinc.org|${c}`).join(',');

export interface ServiceTemplates {
  serviceId: string;
  hook: string;
  templates: Record<string, string>;
  /** How the `{{model.codes.*}}` tokens were filled. */
  codesFrom: 'model manifest' | 'fallback PCE code list';
}

export async function prefetchTemplates(root: string, serviceId: string): Promise<ServiceTemplates> {
  type RawService = { id: string; hook: string; model: string; prefetch: Record<string, string> };
  const dir = join(root, 'cds-hooks');
  const file = readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .find((n) => (JSON.parse(readFileSync(join(dir, n), 'utf8')) as RawService).id === serviceId);
  if (!file) throw new Error(`No service definition in cds-hooks/ has id "${serviceId}".`);
  const raw = JSON.parse(readFileSync(join(dir, file), 'utf8')) as RawService;
  if (existsSync(join(root, 'models', raw.model))) {
    try {
      const { bindPrefetchToModel, parseServiceDefinition } = await import('../src/cds/service-definitions.ts');
      const { loadModelPackage } = await import('../src/models/model-package.ts');
      const pkg = await loadModelPackage(join(root, 'models', raw.model));
      const def = parseServiceDefinition(raw, file, []);
      if (def) return { serviceId: raw.id, hook: raw.hook, templates: bindPrefetchToModel(def, pkg.manifest.features).prefetch, codesFrom: 'model manifest' };
    } catch {
      // fall through to the fixed code list
    }
  }
  const templates: Record<string, string> = {};
  for (const [k, t] of Object.entries(raw.prefetch)) templates[k] = t.replace(/\{\{\s*model\.codes\.Observation\s*\}\}/g, FALLBACK_OBSERVATION_CODES);
  return { serviceId: raw.id, hook: raw.hook, templates, codesFrom: 'fallback PCE code list' };
}

export interface HookBodies {
  withPrefetch: string;
  withoutPrefetch: string;
  /** Resources in the prefetch (Bundle entries, plus single resources). */
  prefetchResources: number;
}

export async function buildHookBodies(fhirBase: string, patientId: string, t: ServiceTemplates): Promise<HookBodies> {
  const { fillPrefetch, hookCall } = await import('../src/client/cds-client.ts');
  const context = { userId: 'Practitioner/bench', patientId };
  const prefetch = await fillPrefetch(fhirBase, t.templates, context);
  let prefetchResources = 0;
  for (const v of Object.values(prefetch)) {
    const b = v as { resourceType?: string; entry?: unknown[] };
    prefetchResources += b?.resourceType === 'Bundle' ? (b.entry?.length ?? 0) : 1;
  }
  // Fixed hookInstance: the load generator replays one body; the service does not deduplicate calls.
  const withPrefetch = { ...hookCall(t.hook, patientId, { prefetch }), hookInstance: '2b1a3c9e-0000-4000-8000-00000000b001' };
  const withoutPrefetch = { ...hookCall(t.hook, patientId, { fhirServer: fhirBase }), hookInstance: '2b1a3c9e-0000-4000-8000-00000000b002' };
  return { withPrefetch: JSON.stringify(withPrefetch), withoutPrefetch: JSON.stringify(withoutPrefetch), prefetchResources };
}
