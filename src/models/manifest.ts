/**
 * The model package manifest: models/<id>/manifest.json beside model.onnx.
 * Everything the service needs to run, explain and describe a model is declared here.
 */
import type { ApplicabilitySpec, FeatureSpec } from '../features/feature-spec.ts';

export interface CategorySpec {
  code: string;
  label: string;
  /** Upper bound (exclusive) of risk 0-1; the last category has none. */
  below?: number;
  indicator: 'info' | 'warning' | 'critical';
}

export interface WhatIfSpec {
  label: string;
  /** Feature values to set. */
  set: Record<string, number>;
  /** Only offered when the patient's value of `feature` is on this side of `value`. */
  when?: { feature: string; op: '>' | '<' | '==' | '!='; value: number };
  /** "applicable": apply every other offered scenario together (offered when two or more apply). */
  combine?: 'applicable';
}

export interface ExplanationSpec {
  /** "exact-shapley" (enumerate coalitions, <=12 free inputs), "tree-shap", "kernel-shap". */
  method: string;
  /** Reference patient: a fixed value per feature, or "patient" to hold the patient's own value
   *  (its contribution is then 0 and the card says so). */
  reference: Record<string, number | 'patient'>;
  /** How the reference is described to a clinician. */
  referenceDescription: string;
  /** For "interventional-tree-shap": the background sample file in the package (default background.json). */
  background?: string;
  /** For "sampled-shapley": how many permutations (default 128). */
  samples?: number;
  whatIf: WhatIfSpec[];
}

export interface ModelCard {
  intendedUse: string;
  population: string;
  exclusions: string[];
  performance: Record<string, unknown>;
  limitations: string[];
  references: string[];
}

export interface ModelManifest {
  id: string;
  version: string;
  name: string;
  /** The outcome in words: "10-year risk of a first hard ASCVD event". */
  outcome: string;
  horizonYears?: number;
  /** How the risk is named on a card summary ("10-year ASCVD risk"). */
  riskLabel?: string;
  /** File name of the ONNX graph inside the package, and its sha256 (hex). */
  onnx: { file: string; sha256: string };
  /** ONNX input: one tensor [N, features.length] of this element type, columns in feature order. */
  input: { name: string; type: 'float64' | 'float32' };
  /** ONNX output holding the probability of the outcome, shape [N, 1] or [N] (or [N, 2] with `column`). */
  output: { name: string; column?: number };
  features: FeatureSpec[];
  applicability: ApplicabilitySpec;
  categories: CategorySpec[];
  explanation: ExplanationSpec;
  modelCard: ModelCard;
  /** Cases the package must reproduce at load / validation time. */
  referenceCases?: { inputs: Record<string, number>; expectedRisk: number; tolerance: number; note?: string }[];
}
