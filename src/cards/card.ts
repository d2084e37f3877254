/** CDS Hooks 2.0 card shapes (https://cds-hooks.hl7.org/2.0/#card-attributes). */

export interface Coding {
  system?: string;
  code: string;
  display?: string;
}

export interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}

export interface Action {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Record<string, unknown>;
  resourceId?: string;
}

export interface Suggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: Action[];
}

export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; icon?: string; topic?: Coding };
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
  extension?: Record<string, unknown>;
}

/** The machine-readable prediction carried in card.extension["riskcards.prediction"]. */
export interface PredictionExtension {
  modelId: string;
  modelVersion: string;
  risk: number;
  referenceRisk: number;
  category: string;
  inputs: { feature: string; label: string; value?: number; unit: string; effectiveDate?: string; source?: string; quality?: string[] }[];
  contributions: { feature: string; contribution: number }[];
  whatIf?: { label: string; risk: number }[];
}

export const PREDICTION_EXTENSION = 'riskcards.prediction';
