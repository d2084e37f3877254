/** Fixture patients (trimmed Synthea bundles in test/fixtures/synthea) and what tests derive from them. */
import { readFileSync, readdirSync } from 'node:fs';
import type { Bundle, Patient, Resource } from 'fhir/r4.js';

const DIR = new URL('../fixtures/synthea/', import.meta.url);

export function fixturePatientIds(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadBundle(id: string): Bundle {
  return JSON.parse(readFileSync(new URL(`${id}.json`, DIR), 'utf8')) as Bundle;
}

export function resourcesOf(bundle: Bundle): Resource[] {
  return (bundle.entry ?? []).map((e) => e.resource!).filter(Boolean);
}

export function patientOf(bundle: Bundle): Patient {
  return resourcesOf(bundle).find((r): r is Patient => r.resourceType === 'Patient')!;
}

/** The newest clinical date in the record: tests pin "now" a day after it (records end 2018-2021). */
export function lastRecordDate(bundle: Bundle): Date {
  let max = '';
  for (const r of resourcesOf(bundle) as any[]) {
    for (const d of [r.effectiveDateTime, r.issued, r.authoredOn, r.recordedDate, r.performedPeriod?.start, r.performedDateTime]) {
      if (typeof d === 'string' && d > max) max = d;
    }
  }
  const t = new Date(max);
  return new Date(t.getTime() + 86_400_000);
}

export function ageAt(patient: Patient, now: Date): number {
  const b = new Date(patient.birthDate!);
  let age = now.getUTCFullYear() - b.getUTCFullYear();
  const m = now.getUTCMonth() - b.getUTCMonth();
  if (m < 0 || (m === 0 && now.getUTCDate() < b.getUTCDate())) age--;
  return age;
}
