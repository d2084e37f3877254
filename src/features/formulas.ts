/**
 * Formulas that compute a feature from other results in the record when the record has no value
 * for it (a feature spec's `fallback`): a registry from formula name to a pure function of
 * already-extracted Observation values and the patient. Adding a formula is adding an entry here;
 * the feature files name it.
 */
import type { Patient } from 'fhir/r4.js';
import type { Provenance } from '../domain.ts';
import type { FeatureSpec } from './feature-spec.ts';

/** One Observation value handed to a formula, already in the unit its fallback declares. */
export interface FormulaValue {
  value: number;
  unit: string;
  /** Effective date of the result (ISO 8601). */
  date: string;
  provenance: Provenance;
}

export interface FormulaContext {
  /** The newest usable result of each argument the formula declares. */
  values: Record<string, FormulaValue>;
  patient: Patient;
  /** Whole years of age at an ISO date, from Patient.birthDate (undefined when unknown). */
  ageAt(date: string): number | undefined;
}

/** A value with one sentence saying how it was computed (shown on the card), or why it could not be. */
export type FormulaResult = { value: number; explanation: string } | { problem: string };

export interface Formula {
  /** What the formula computes, with its source. */
  description: string;
  /** UCUM unit of the result. */
  unit: string;
  /** The Observation arguments it reads, by name, with the UCUM unit each must be given in. */
  arguments: Record<string, string>;
  compute(ctx: FormulaContext): FormulaResult;
}

/**
 * CKD-EPI 2021 creatinine equation, without race: Inker LA, Eneanya ND, Coresh J, et al. New
 * Creatinine- and Cystatin C-Based Equations to Estimate GFR without Race. N Engl J Med.
 * 2021;385(19):1737-1749, doi:10.1056/NEJMoa2102953:
 *   eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 [female]
 *   k = 0.7 (female), 0.9 (male); a = -0.241 (female), -0.302 (male)
 * Scr in mg/dL, age in years; eGFR in mL/min/1.73 m2. Validated for adults (18 years and over).
 */
export function ckdEpi2021Egfr(creatinineMgDl: number, age: number, sex: 'female' | 'male'): number {
  const female = sex === 'female';
  const kappa = female ? 0.7 : 0.9;
  const alpha = female ? -0.241 : -0.302;
  const ratio = creatinineMgDl / kappa;
  return 142 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.2 * 0.9938 ** age * (female ? 1.012 : 1);
}

/** At most `decimals` decimals, no trailing zeros: "1.1", "0.57", "200". */
function formatNumber(v: number, decimals: number): string {
  return String(Number(v.toFixed(decimals)));
}

const ckdEpi2021: Formula = {
  description: 'eGFR from serum creatinine, age and sex with the race-free CKD-EPI 2021 equation (Inker et al., N Engl J Med 2021).',
  unit: 'mL/min/{1.73_m2}',
  arguments: { creatinine: 'mg/dL' },
  compute({ values, patient, ageAt }) {
    const scr = values.creatinine;
    if (!scr) return { problem: 'no serum creatinine result is available' };
    const sex = patient.gender;
    if (sex !== 'female' && sex !== 'male') return { problem: 'the equation needs sex recorded as female or male' };
    const age = ageAt(scr.date);
    if (age === undefined) return { problem: 'the patient has no usable birth date' };
    if (age < 18) return { problem: `the equation is for adults and the creatinine was measured at age ${age}` };
    if (!(scr.value > 0)) return { problem: 'the creatinine value is not positive' };
    const egfr = ckdEpi2021Egfr(scr.value, age, sex);
    const { originalValue, originalUnit } = scr.provenance;
    const recorded =
      originalUnit && originalUnit !== scr.unit && typeof originalValue === 'number'
        ? `${formatNumber(originalValue, 1)} ${originalUnit} (${scr.value.toFixed(2)} ${scr.unit})`
        : `${formatNumber(scr.value, 2)} ${scr.unit}`;
    return {
      value: egfr,
      explanation: `eGFR ${Math.round(egfr)} mL/min/1.73 m² was computed from serum creatinine ${recorded} (${scr.date.slice(0, 10)}) with the race-free CKD-EPI 2021 equation; the record has no eGFR result.`,
    };
  },
};

const FORMULAS: ReadonlyMap<string, Formula> = new Map([['ckd-epi-2021', ckdEpi2021]]);

/** The formula registered under `name`, if any. */
export function formulaFor(name: string): Formula | undefined {
  return FORMULAS.get(name);
}

/** Sentences describing fallbacks that cannot work (unknown formula, missing or mis-unit arguments); empty when all are usable. */
export function formulaProblems(features: readonly FeatureSpec[]): string[] {
  const problems: string[] = [];
  for (const f of features) {
    if (f.source !== 'observation-quantity' || !f.fallback) continue;
    const formula = formulaFor(f.fallback.formula);
    if (!formula) {
      problems.push(`Feature "${f.id}" falls back on the formula "${f.fallback.formula}", which is not one of ${[...FORMULAS.keys()].join(', ')}.`);
      continue;
    }
    if (formula.unit !== f.unit) problems.push(`Feature "${f.id}" is in ${f.unit} but the formula "${f.fallback.formula}" gives ${formula.unit}.`);
    for (const [arg, unit] of Object.entries(formula.arguments)) {
      const obs = f.fallback.observations?.[arg];
      if (!obs) problems.push(`Feature "${f.id}": the formula "${f.fallback.formula}" needs the Observation "${arg}" in its fallback.`);
      else if (obs.unit !== unit) problems.push(`Feature "${f.id}": the formula "${f.fallback.formula}" takes ${arg} in ${unit}, not ${obs.unit}.`);
      else if (!Array.isArray(obs.codes) || obs.codes.length === 0) problems.push(`Feature "${f.id}": the fallback Observation "${arg}" needs codes.`);
    }
    for (const arg of Object.keys(f.fallback.observations ?? {})) {
      if (!(arg in formula.arguments)) problems.push(`Feature "${f.id}": the formula "${f.fallback.formula}" takes no argument "${arg}".`);
    }
  }
  return problems;
}
