/**
 * Coded evidence in a record: Observations with coded values (smoking status), Conditions,
 * Procedures and MedicationRequests matched by code sets across systems. Used by 0/1 features and
 * by applicability exclusions. Records marked entered-in-error, refuted or not done never count.
 */
import type { Resource } from 'fhir/r4.js';
import type { CodedEvidence, CodeRef } from './feature-spec.ts';
import { codeMatcher } from './feature-codes.ts';
import { subtractDuration } from './lookback.ts';

export interface EvidenceItem {
  value: 0 | 1;
  /** Date of the evidence (ISO), when the resource has one. */
  date?: string;
  reference: string;
  /** What was found, for people ("Myocardial infarction"). */
  display?: string;
}

type Concept = { coding?: { system?: string; code?: string }[] } | undefined;

/** FHIR R4 observation-status values of results that exist and may be read; registered,
 *  cancelled, entered-in-error and unknown are never used. */
export const USABLE_OBSERVATION_STATUS: ReadonlySet<unknown> = new Set(['final', 'amended', 'corrected', 'preliminary']);
const BAD_VERIFICATION = new Set(['refuted', 'entered-in-error']);
const BAD_PROCEDURE_STATUS = new Set(['entered-in-error', 'not-done']);

function codingsOf(c: unknown): { system?: unknown; code?: unknown }[] {
  const coding = (c as { coding?: unknown } | null | undefined)?.coding;
  return Array.isArray(coding) ? coding.filter((x) => x !== null && typeof x === 'object') : [];
}

function codeOf(c: unknown): string | undefined {
  const code = codingsOf(c).find((x) => typeof x.code === 'string')?.code;
  return code as string | undefined;
}

/** The label of the matched concept, taken from the feature spec (never free text from the
 *  record, which cards would otherwise show unescaped). */
function displayOf(c: unknown, refs: readonly CodeRef[]): string | undefined {
  for (const coding of codingsOf(c)) {
    const code = coding.code;
    if (typeof code !== 'string') continue;
    const ref = refs.find((r) => r.system === coding.system && (r.prefix ? code.startsWith(r.code) : r.code === code));
    if (ref) return ref.display ?? ref.code;
  }
  return undefined;
}

function firstDate(...candidates: unknown[]): string | undefined {
  for (const d of candidates) if (typeof d === 'string' && !Number.isNaN(Date.parse(d))) return d;
  return undefined;
}

export interface CompiledEvidence {
  spec: CodedEvidence;
  matches: (c: Concept) => boolean;
  positive?: (c: Concept) => boolean;
  negative?: (c: Concept) => boolean;
}

export function compileEvidence(e: CodedEvidence): CompiledEvidence {
  return {
    spec: e,
    matches: codeMatcher(e.codes),
    ...(e.resourceType === 'Observation' ? { positive: codeMatcher(e.positiveValues), negative: codeMatcher(e.negativeValues) } : {}),
  };
}

function conditionDate(r: Record<string, any>): string | undefined {
  return firstDate(r.onsetDateTime, r.onsetPeriod?.start, r.recordedDate, r.abatementDateTime);
}

/** The code of a Medication referred to by a MedicationRequest (contained, or in the record). */
function medicationCode(r: Record<string, any>, resources: readonly Resource[]): unknown {
  const ref = r.medicationReference?.reference;
  if (typeof ref !== 'string') return undefined;
  const id = ref.startsWith('#') ? ref.slice(1) : ref.replace(/^(urn:uuid:|.*Medication\/)/, '');
  const pool: unknown[] = ref.startsWith('#') ? (Array.isArray(r.contained) ? r.contained : []) : (resources as unknown[]);
  const med = pool.find((m) => (m as Resource | null)?.resourceType === 'Medication' && (m as Resource).id === id) as { code?: unknown } | undefined;
  return med?.code;
}

/** Evidence items from every resource matching one compiled evidence spec, newest first. */
export function findEvidence(ev: CompiledEvidence, resources: readonly Resource[], now: Date): EvidenceItem[] {
  const e = ev.spec;
  const since = 'lookback' in e && e.lookback ? subtractDuration(now, e.lookback).getTime() : undefined;
  const nowTime = now.getTime();
  const items: EvidenceItem[] = [];
  for (const res of resources) {
    if (res.resourceType !== e.resourceType) continue;
    const r = res as Record<string, any>;
    const reference = `${r.resourceType}/${r.id}`;
    if (e.resourceType === 'Observation') {
      if (!USABLE_OBSERVATION_STATUS.has(r.status) || !ev.matches(r.code)) continue;
      const date = firstDate(r.effectiveDateTime, r.effectivePeriod?.start, r.effectiveInstant, r.issued);
      const time = date ? Date.parse(date) : Number.NaN;
      if (since !== undefined && !(time >= since)) continue;
      if (time > nowTime) continue;
      const v = r.valueCodeableConcept as Concept;
      const value = ev.positive!(v) ? 1 : ev.negative!(v) ? 0 : undefined;
      if (value === undefined) continue;
      const display = displayOf(v, value === 1 ? e.positiveValues : e.negativeValues);
      items.push({ value, ...(date ? { date } : {}), reference, ...(display ? { display } : {}) });
    } else if (e.resourceType === 'Condition') {
      if (!ev.matches(r.code)) continue;
      if (BAD_VERIFICATION.has(codeOf(r.verificationStatus) ?? '')) continue;
      const status = codeOf(r.clinicalStatus);
      if (e.clinicalStatus && (!status || !e.clinicalStatus.includes(status))) continue;
      const date = conditionDate(r);
      if (date && (Date.parse(date) > nowTime || (since !== undefined && Date.parse(date) < since))) continue;
      const display = displayOf(r.code, e.codes);
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(display ? { display } : {}) });
    } else if (e.resourceType === 'Procedure') {
      if (!ev.matches(r.code) || BAD_PROCEDURE_STATUS.has(r.status)) continue;
      const date = firstDate(r.performedDateTime, r.performedPeriod?.start);
      if (date && (Date.parse(date) > nowTime || (since !== undefined && Date.parse(date) < since))) continue;
      const display = displayOf(r.code, e.codes);
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(display ? { display } : {}) });
    } else if (e.resourceType === 'MedicationRequest') {
      const statuses = e.status ?? ['active'];
      if (!statuses.includes(r.status)) continue;
      const medication = r.medicationCodeableConcept ?? medicationCode(r, resources);
      if (!ev.matches(medication)) continue;
      const date = firstDate(r.authoredOn);
      if (date && Date.parse(date) > nowTime) continue;
      const display = displayOf(medication, e.codes);
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(display ? { display } : {}) });
    }
  }
  return items.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}
