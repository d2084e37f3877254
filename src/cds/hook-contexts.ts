/**
 * Context schemas of the six standard hooks of the CDS Hooks hook library (1.0.1,
 * https://cds-hooks.hl7.org/hooks/): which fields each hook's `context` carries, which are
 * required, and their shape. A service definition may name any of these hooks.
 */
import { badRequest } from '../errors.ts';

type FieldKind =
  | 'id' // a bare FHIR id ("123", not "Patient/123")
  | 'user-reference' // "Practitioner/123", "PractitionerRole/..", "Patient/..", "RelatedPerson/.."
  | 'string-array'
  | 'bundle'; // a FHIR Bundle (draftOrders, appointments)

interface FieldSpec {
  kind: FieldKind;
  required: boolean;
  /** Resource types allowed in a user reference. */
  userTypes?: string[];
}

const USER_ANY = ['Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson'];
const USER_CLINICIAN = ['Practitioner', 'PractitionerRole'];

export const HOOK_CONTEXTS: Readonly<Record<string, Readonly<Record<string, FieldSpec>>>> = {
  // https://cds-hooks.hl7.org/hooks/patient-view/
  'patient-view': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_ANY },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: false },
  },
  // https://cds-hooks.hl7.org/hooks/order-select/
  'order-select': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_CLINICIAN },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: false },
    selections: { kind: 'string-array', required: true },
    draftOrders: { kind: 'bundle', required: true },
  },
  // https://cds-hooks.hl7.org/hooks/order-sign/
  'order-sign': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_CLINICIAN },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: false },
    draftOrders: { kind: 'bundle', required: true },
  },
  // https://cds-hooks.hl7.org/hooks/encounter-start/
  'encounter-start': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_CLINICIAN },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: true },
  },
  // https://cds-hooks.hl7.org/hooks/encounter-discharge/
  'encounter-discharge': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_CLINICIAN },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: true },
  },
  // https://cds-hooks.hl7.org/hooks/appointment-book/
  'appointment-book': {
    userId: { kind: 'user-reference', required: true, userTypes: USER_ANY },
    patientId: { kind: 'id', required: true },
    encounterId: { kind: 'id', required: false },
    appointments: { kind: 'bundle', required: true },
  },
};

/** FHIR R4 id: 1-64 characters of A-Z a-z 0-9 - . (https://hl7.org/fhir/R4/datatypes.html#id). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isKnownHook(hook: string): boolean {
  return Object.hasOwn(HOOK_CONTEXTS, hook);
}

/** Validates `context` for `hook`; throws a 400 naming the field. Unknown extra fields are tolerated. */
export function validateHookContext(hook: string, context: unknown): Record<string, unknown> {
  const schema = HOOK_CONTEXTS[hook];
  if (!schema) throw badRequest(`Hook "${hook}" is not supported.`, 'hook');
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw badRequest('context must be a JSON object.', 'context');
  }
  const ctx = context as Record<string, unknown>;
  for (const [name, field] of Object.entries(schema)) {
    const value = ctx[name];
    const where = `context.${name}`;
    if (value === undefined) {
      if (field.required) throw badRequest(`${where} is required for the ${hook} hook.`, where);
      continue;
    }
    switch (field.kind) {
      case 'id':
        if (typeof value !== 'string' || !FHIR_ID.test(value)) {
          throw badRequest(`${where} must be a bare FHIR id (letters, digits, "-" and "." up to 64 characters), e.g. "123", not "Patient/123".`, where);
        }
        break;
      case 'user-reference': {
        const m = typeof value === 'string' ? /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(value) : null;
        if (!m || !field.userTypes?.includes(m[1]!)) {
          throw badRequest(`${where} must be a reference like "Practitioner/123" to one of ${field.userTypes?.join(', ')}.`, where);
        }
        break;
      }
      case 'string-array':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
          throw badRequest(`${where} must be an array of strings.`, where);
        }
        break;
      case 'bundle':
        if (typeof value !== 'object' || value === null || (value as { resourceType?: unknown }).resourceType !== 'Bundle') {
          throw badRequest(`${where} must be a FHIR Bundle.`, where);
        }
        break;
    }
  }
  return ctx;
}
