/**
 * Acting as an EHR in tests: render a service's prefetch templates for a patient and fill them
 * from a FHIR server, as a CDS client would before calling the service.
 */
import type { Bundle } from 'fhir/r4.js';

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}

/** Reads a resource or a whole search (following next links) into one searchset Bundle. */
export async function readAll(fhirBase: string, relative: string): Promise<any> {
  const first = await getJson(`${fhirBase}/${relative}`);
  if (first.resourceType !== 'Bundle') return first;
  const entry = [...(first.entry ?? [])];
  let next = first.link?.find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
  while (next) {
    const page = await getJson(next);
    entry.push(...(page.entry ?? []));
    next = page.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry } satisfies Bundle;
}

export function renderTemplate(template: string, patientId: string, userId = 'Practitioner/example'): string {
  return template
    .replaceAll('{{context.patientId}}', patientId)
    .replaceAll('{{context.userId}}', userId)
    .replaceAll('{{userPractitionerId}}', userId.split('/')[1]!);
}

export async function prefetchFor(fhirBase: string, templates: Record<string, string>, patientId: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, t] of Object.entries(templates)) out[key] = await readAll(fhirBase, renderTemplate(t, patientId));
  return out;
}

export function hookRequest(patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: 'patient-view',
    hookInstance: crypto.randomUUID(),
    context: { userId: 'Practitioner/example', patientId },
    ...extra,
  };
}
