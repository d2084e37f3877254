/**
 * The small domain types that flow through the pipeline:
 * FHIR resources -> Input[] -> Prediction -> Explanation -> Card.
 * FHIR types stay at the FHIR edge (src/fhir); everything after it speaks these.
 */

/** Where an input value came from: one FHIR resource, as found in the record. */
export interface Provenance {
  /** "Observation/123" (never resource content). */
  reference: string;
  /** Effective / onset / authored date of the source resource (ISO 8601), if it has one. */
  effectiveDate?: string;
  /** The value as recorded, before any unit conversion. */
  originalValue?: number | string | boolean;
  /** The unit as recorded (UCUM code where the source gave one). */
  originalUnit?: string;
}

/** Data-quality flags an input can carry; each is shown on the card. */
export type QualityFlag =
  | 'missing' // no usable value in the lookback window
  | 'imputed' // value stated by the model's missing-value policy, not from the record
  | 'stale' // value older than the feature's freshness limit (still used)
  | 'converted' // unit converted from what the record said
  | 'out-of-range' // outside the model's validated range (used as is, never clamped)
  | 'implausible' // outside physiological plausibility: discarded
  | 'conflicting' // sources disagree (e.g. a smoking Condition vs a "never smoker" Observation)
  | 'aggregated'; // value is an aggregate of several results

export interface QualityNote {
  flag: QualityFlag;
  /** One sentence for the clinician, free of patient identifiers. */
  message: string;
}

/** One model input as extracted from the patient's record. */
export interface Input {
  /** Feature id from the model manifest ("hdl_c"). */
  feature: string;
  /** Human label ("HDL cholesterol"). */
  label: string;
  /** Numeric value fed to the model, in `unit`; null when missing and not imputed. */
  value: number | null;
  /** Canonical UCUM unit ("mg/dL", "mm[Hg]", "a", "1" for flags). */
  unit: string;
  /** How to show the value to a person ("Yes"/"No" for flags, "48 mg/dL"); optional. */
  display?: string;
  /** Date of the value (latest source date for aggregates), ISO 8601. */
  effectiveDate?: string;
  /** Source resources, newest first. Empty for imputed or demographic-derived values. */
  sources: Provenance[];
  quality: QualityNote[];
}

export interface Category {
  code: string;
  label: string;
  indicator: 'info' | 'warning' | 'critical';
}

export interface Prediction {
  modelId: string;
  modelVersion: string;
  /** Probability 0-1 of the model's outcome. */
  risk: number;
  category: Category;
  inputs: Input[];
}

export interface Contribution {
  feature: string;
  /** In risk units (0-1); contributions + referenceRisk = risk. */
  contribution: number;
}

export interface WhatIf {
  /** "Systolic BP at 120 mm Hg". */
  label: string;
  /** Risk with the change applied (0-1). */
  risk: number;
  /** The changed feature values. */
  changes: { feature: string; value: number }[];
}

export interface Explanation {
  method: string;
  referenceRisk: number;
  /** Plain-language description of the reference the contributions are measured from. */
  referenceDescription: string;
  contributions: Contribution[];
  whatIf: WhatIf[];
}

/** Why a model did not produce a score for this patient. */
export interface NotApplicable {
  kind: 'not-applicable';
  /** "Age 34 is outside the model's range of 40-79 years." */
  reasons: string[];
  inputs: Input[];
}

/** Required inputs are missing: no score, and the card says what and how recent. */
export interface InsufficientData {
  kind: 'insufficient-data';
  missing: { feature: string; label: string; requirement: string; orderCode?: { system: string; code: string; display: string } }[];
  inputs: Input[];
}
