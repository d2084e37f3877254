/**
 * Whether a resource belongs to the patient in context. Prefetched or fetched data that names
 * another patient must never reach a risk calculation (CDS Hooks 2.0 §Prefetch: prefetch data
 * is for the patient in context).
 */
import type { Resource } from 'fhir/r4.js';

/** "Patient/1", "https://ehr/fhir/Patient/1", "Patient/1/_history/2" all name patient "1". */
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** The patient ids a resource's `subject` or `patient` reference names (none if it names no Patient). */
export function referencedPatientIds(resource: Resource): string[] {
  const ids: string[] = [];
  for (const field of ['subject', 'patient'] as const) {
    const ref = (resource as unknown as Record<string, unknown>)[field];
    if (ref === null || typeof ref !== 'object') continue;
    const reference = (ref as { reference?: unknown }).reference;
    if (typeof reference !== 'string') continue;
    const id = PATIENT_REFERENCE.exec(reference)?.[1];
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

/**
 * False for a Patient with another id and for a resource whose subject/patient names another
 * Patient; true otherwise (resources about no patient, like a Practitioner, are kept).
 */
export function belongsToPatient(resource: Resource, patientId: string): boolean {
  if (resource.resourceType === 'Patient') return resource.id === patientId;
  return referencedPatientIds(resource).every((id) => id === patientId);
}
