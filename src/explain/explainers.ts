/**
 * Explainers by method name (the manifest's explanation.method). An explainer plans the model rows
 * it needs; explainPrediction runs them in the same batch as the what-if rows, then hands the
 * outputs back. Another method is added by calling registerExplainer from its own module
 * (e.g. tree-shap.ts reading pkg.graph), not by editing a switch.
 */
import type { Contribution } from '../domain.ts';
import type { ModelManifest } from '../models/manifest.ts';
import type { ModelPackage } from '../models/model-package.ts';
import { coalitionRows, freeInputs, MAX_FREE_INPUTS, shapleyFromOutputs } from './shapley.ts';

export interface ExplainerResult {
  /** f(x), from the explainer's own rows so that contributions + referenceRisk = risk holds. */
  risk: number;
  referenceRisk: number;
  /** One per feature, in feature order (0 for inputs held at the patient's value). */
  contributions: Contribution[];
}

export interface ExplainerPlan {
  /** Row-major model inputs (width = number of features) the explainer needs evaluated; may be empty. */
  rows: Float64Array;
  count: number;
  /** Turns the risks of `rows` (same order) into the result. */
  complete(risks: Float64Array): ExplainerResult | Promise<ExplainerResult>;
}

export interface Explainer {
  plan(pkg: ModelPackage, x: readonly number[]): ExplainerPlan;
  /** Sentences saying why this explainer cannot serve a manifest (checked at start-up). */
  problems?(manifest: ModelManifest): string[];
}

const explainers = new Map<string, Explainer>();

export function registerExplainer(method: string, explainer: Explainer): void {
  if (explainers.has(method)) throw new Error(`An explainer for "${method}" is already registered.`);
  explainers.set(method, explainer);
}

export function explainerFor(method: string): Explainer {
  const explainer = explainers.get(method);
  if (!explainer) {
    throw new Error(`No explainer is registered for method "${method}" (known: ${[...explainers.keys()].join(', ')}).`);
  }
  return explainer;
}

/** Why a manifest's explanation cannot be produced (unknown method, too many free inputs...); empty when fine. */
export function explanationProblems(manifest: ModelManifest): string[] {
  const explainer = explainers.get(manifest.explanation.method);
  if (!explainer) {
    return [`Explanation method "${manifest.explanation.method}" is not available (known: ${[...explainers.keys()].join(', ')}).`];
  }
  return explainer.problems?.(manifest) ?? [];
}

/** The reference vector in feature order. */
export function referenceVector(manifest: Pick<ModelManifest, 'features' | 'explanation'>): (number | 'patient')[] {
  return manifest.features.map((f) => {
    const r = manifest.explanation.reference[f.id];
    if (r === undefined) throw new Error(`The explanation reference has no value for feature "${f.id}".`);
    return r;
  });
}

const exactShapley: Explainer = {
  plan(pkg, x) {
    const plan = coalitionRows(x, referenceVector(pkg.manifest));
    return {
      rows: plan.rows,
      count: plan.count,
      complete(risks) {
        const { values, fx, fReference } = shapleyFromOutputs(plan, risks);
        return {
          risk: fx,
          referenceRisk: fReference,
          contributions: pkg.featureIds.map((feature, j) => ({ feature, contribution: values[j]! })),
        };
      },
    };
  },
  problems(manifest) {
    const k = freeInputs(referenceVector(manifest)).length;
    return k > MAX_FREE_INPUTS
      ? [`Exact Shapley values enumerate at most ${MAX_FREE_INPUTS} free inputs; the reference leaves ${k} free (hold some at "patient").`]
      : [];
  },
};

registerExplainer('exact-shapley', exactShapley);
