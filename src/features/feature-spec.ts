/**
 * Declarative feature specifications: how one model input is found in a patient's FHIR record.
 * A model's manifest (models/<id>/manifest.json) lists one FeatureSpec per model input, in the
 * order of the ONNX input columns. Adding a model is writing these, not code.
 */

/** One code of a concept. `prefix: true` matches codes starting with `code` (ICD-10 families). */
export interface CodeRef {
  system: string;
  code: string;
  display?: string;
  prefix?: boolean;
}

/** Durations as ISO 8601-like strings: "P5Y", "P18M", "P400D". */
export type Duration = string;

export interface MissingPolicy {
  /** required: no score, the card names the missing input and how recent it must be.
   *  impute: use `value`, and say so on the card. */
  policy: 'required' | 'impute';
  value?: number;
  /** Shown on the card when imputed ("assumed not on treatment: no active antihypertensive"). */
  statement?: string;
  /** A test to suggest ordering when missing (LOINC-coded ServiceRequest). */
  order?: CodeRef;
}

interface FeatureBase {
  /** Column name in the model ("hdl_c"). */
  id: string;
  /** For people ("HDL cholesterol"). */
  label: string;
  /** Canonical UCUM unit of the value passed to the model ("mg/dL", "mm[Hg]", "a", "1"). */
  unit: string;
  missing: MissingPolicy;
  /** Values outside [min, max] are used but flagged "out-of-range" (the model's validated range). */
  validRange?: [number, number];
  /** Can a clinician change it (used by "what would change it")? */
  modifiable?: boolean;
}

/** Age in whole years from Patient.birthDate at the request time. */
export interface AgeFeature extends FeatureBase {
  source: 'age';
}

/** A 0/1 flag from a Patient element ("gender" = "female"), via FHIRPath. */
export interface PatientFlagFeature extends FeatureBase {
  source: 'patient-flag';
  /** FHIRPath on Patient returning codes or strings ("gender", or the US Core race ombCategory codes). */
  path: string;
  /** Value is 1 when any result is in this list. */
  trueValues: string[];
  /** When the path finds nothing at all: treat as missing (then the missing policy applies). */
}

/** A quantity from Observations. */
export interface ObservationQuantityFeature extends FeatureBase {
  source: 'observation-quantity';
  codes: CodeRef[];
  /** FHIRPath to the Quantity within a matching Observation; default "value". For a panel's
   *  component: "component.where(code.coding.where(system='http://loinc.org' and code='8480-6').exists()).value".
   *  Applied per matched Observation. */
  valuePath?: string;
  /** Observations whose own code matches these are read through `componentPath` (BP panels). */
  panels?: { codes: CodeRef[]; valuePath: string }[];
  /** Molar mass in g/mol, for mass <-> substance conversions (cholesterol 386.65). */
  molarMass?: number;
  lookback: Duration;
  /** Older than this (but inside lookback): used, flagged stale. */
  staleAfter?: Duration;
  aggregation: 'latest' | 'mean' | 'min' | 'max';
  /** For mean/min/max: use at most this many of the newest results. */
  aggregateCount?: number;
  /** Physiologically plausible range in `unit`; values outside are discarded as implausible. */
  plausible?: [number, number];
  /** When the record has no usable result: compute the value with a named formula from other
   *  Observations (eGFR from serum creatinine). The input then cites those Observations. */
  fallback?: FormulaFallback;
}

/** A value computed by a formula of src/features/formulas.ts from other results in the record. */
export interface FormulaFallback {
  /** Name of the formula in the registry ("ckd-epi-2021"). */
  formula: string;
  /** The Observations the formula reads, by the formula's own argument name ("creatinine"). */
  observations: Record<string, FormulaObservation>;
}

/** One Observation quantity a formula reads: its newest plausible result in the lookback is used. */
export interface FormulaObservation {
  label: string;
  codes: CodeRef[];
  /** UCUM unit the formula expects the value in ("mg/dL"). */
  unit: string;
  /** For mass <-> substance conversions (creatinine 113.12 g/mol). */
  molarMass?: number;
  lookback: Duration;
  plausible?: [number, number];
}

/** A 0/1 flag from coded evidence: Observation value codes, Condition or Procedure codes,
 *  MedicationRequest codes. Several evidence kinds may be combined. */
export interface CodedFlagFeature extends FeatureBase {
  source: 'coded-flag';
  evidence: CodedEvidence[];
  /** How evidence items combine: "any" = 1 when any positive evidence; "latest" = newest item wins.
   *  Disagreement between sources is always flagged "conflicting". */
  combine: 'any' | 'latest';
  /** When no evidence at all is found, treat as this value (absence of a diagnosis means no),
   *  stated on the card with the missing.statement; or apply the missing policy if omitted. */
  absentValue?: number;
}

export type CodedEvidence =
  | {
      /** Observation with a coded value: e.g. smoking status 72166-2. */
      resourceType: 'Observation';
      codes: CodeRef[];
      /** valueCodeableConcept codes meaning 1; */
      positiveValues: CodeRef[];
      /** valueCodeableConcept codes meaning 0 (others are ignored). */
      negativeValues: CodeRef[];
      lookback?: Duration;
    }
  | {
      resourceType: 'Condition' | 'Procedure';
      codes: CodeRef[];
      /** Condition: count only these clinical statuses (default: any but entered-in-error/refuted). */
      clinicalStatus?: string[];
      lookback?: Duration;
    }
  | {
      resourceType: 'MedicationRequest';
      codes: CodeRef[];
      /** default ["active"] */
      status?: string[];
    };

export type FeatureSpec = AgeFeature | PatientFlagFeature | ObservationQuantityFeature | CodedFlagFeature;

/** A rule that makes a model not applicable (prior ASCVD, age range, ...). */
export interface ApplicabilitySpec {
  /** Inclusive age range in years. */
  ageRange?: [number, number];
  /** Sex the model was built for (e.g. the Pima model: female only). */
  sex?: ('female' | 'male')[];
  /** Exclusions by coded evidence: any match makes the model not applicable. */
  exclusions?: { label: string; evidence: CodedEvidence[] }[];
}
