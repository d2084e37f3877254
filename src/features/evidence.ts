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

type Concept = { coding?: { system?: string; code?: string; display?: string }[]; text?: string } | undefined;

const BAD_OBSERVATION_STATUS = new Set(['entered-in-error', 'cancelled']);
const BAD_VERIFICATION = new Set(['refuted', 'entered-in-error']);
const BAD_PROCEDURE_STATUS = new Set(['entered-in-error', 'not-done']);

function codeOf(c: { coding?: { code?: string }[] } | undefined): string | undefined {
  return c?.coding?.map((x) => x.code).find(Boolean);
}

function displayOf(c: Concept, refs: readonly CodeRef[]): string | undefined {
  for (const coding of c?.coding ?? []) {
    const ref = refs.find((r) => r.system === coding.system && (r.prefix ? coding.code?.startsWith(r.code) : r.code === coding.code));
    if (ref?.display) return ref.display;
    if (ref && coding.display) return coding.display;
  }
  return c?.text ?? c?.coding?.find((x) => x.display)?.display;
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
  return r.onsetDateTime ?? r.onsetPeriod?.start ?? r.recordedDate ?? r.abatementDateTime;
}

/** Evidence items from every resource matching one compiled evidence spec, newest first. */
export function findEvidence(ev: CompiledEvidence, resources: readonly Resource[], now: Date): EvidenceItem[] {
  const e = ev.spec;
  const since = 'lookback' in e && e.lookback ? subtractDuration(now, e.lookback).toISOString() : undefined;
  const items: EvidenceItem[] = [];
  for (const res of resources) {
    if (res.resourceType !== e.resourceType) continue;
    const r = res as Record<string, any>;
    const reference = `${r.resourceType}/${r.id}`;
    if (e.resourceType === 'Observation') {
      if (BAD_OBSERVATION_STATUS.has(r.status) || !ev.matches(r.code)) continue;
      const date: string | undefined = r.effectiveDateTime ?? r.effectivePeriod?.start ?? r.effectiveInstant ?? r.issued;
      if (since && (!date || date < since)) continue;
      if (date && date > now.toISOString()) continue;
      const v = r.valueCodeableConcept as Concept;
      const value = ev.positive!(v) ? 1 : ev.negative!(v) ? 0 : undefined;
      if (value === undefined) continue;
      items.push({ value, ...(date ? { date } : {}), reference, ...(v?.coding?.[0]?.display ? { display: v.coding[0].display } : {}) });
    } else if (e.resourceType === 'Condition') {
      if (!ev.matches(r.code)) continue;
      if (BAD_VERIFICATION.has(codeOf(r.verificationStatus) ?? '')) continue;
      const status = codeOf(r.clinicalStatus);
      if (e.clinicalStatus && (!status || !e.clinicalStatus.includes(status))) continue;
      const date = conditionDate(r);
      if (since && date && date < since) continue;
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(displayOf(r.code, e.codes) ? { display: displayOf(r.code, e.codes)! } : {}) });
    } else if (e.resourceType === 'Procedure') {
      if (!ev.matches(r.code) || BAD_PROCEDURE_STATUS.has(r.status)) continue;
      const date: string | undefined = r.performedDateTime ?? r.performedPeriod?.start;
      if (since && date && date < since) continue;
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(displayOf(r.code, e.codes) ? { display: displayOf(r.code, e.codes)! } : {}) });
    } else if (e.resourceType === 'MedicationRequest') {
      const statuses = e.status ?? ['active'];
      if (!statuses.includes(r.status) || !ev.matches(r.medicationCodeableConcept)) continue;
      const date: string | undefined = r.authoredOn;
      const display = displayOf(r.medicationCodeableConcept, e.codes);
      items.push({ value: 1, ...(date ? { date } : {}), reference, ...(display ? { display } : {}) });
    }
  }
  return items.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}
