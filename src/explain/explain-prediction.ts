/**
 * One explained prediction: the explainer's rows and the what-if rows go to the model in a single
 * session.run; the risk comes from that same batch, so contributions + referenceRisk = risk.
 */
import type { Explanation } from '../domain.ts';
import { predictMatrix, type ModelPackage } from '../models/model-package.ts';
import { explainerFor } from './explainers.ts';
import { whatIfResults, whatIfScenarios } from './what-if.ts';
// Explainers register themselves by method name when their module loads.
import './tree-shap.ts';
import './sampled-shapley.ts';

export async function explainPrediction(pkg: ModelPackage, x: number[]): Promise<{ risk: number; explanation: Explanation }> {
  const width = pkg.featureIds.length;
  if (x.length !== width) throw new Error(`Model ${pkg.manifest.id} takes ${width} values; got ${x.length}.`);
  // NaN is a value only where the missing policy says "pass it to the model as missing" (impute with no value).
  const nanAllowed = pkg.manifest.features.map((f) => f.missing.policy === 'impute' && f.missing.value === undefined);
  if (!x.every((v, j) => Number.isFinite(v) || (Number.isNaN(v) && nanAllowed[j]))) throw new Error(`Model ${pkg.manifest.id} needs a number for every input.`);
  const spec = pkg.manifest.explanation;
  const plan = explainerFor(spec.method).plan(pkg, x);
  const scenarios = whatIfScenarios(pkg.manifest, x);

  const count = plan.count + scenarios.length;
  const rows = new Float64Array(count * width);
  rows.set(plan.rows.subarray(0, plan.count * width));
  scenarios.forEach((s, i) => rows.set(s.row, (plan.count + i) * width));
  const risks = await predictMatrix(pkg, rows, count);

  const result = await plan.complete(risks.subarray(0, plan.count));
  return {
    risk: result.risk,
    explanation: {
      method: spec.method,
      referenceRisk: result.referenceRisk,
      referenceDescription: spec.referenceDescription,
      contributions: result.contributions,
      whatIf: whatIfResults(scenarios, risks, plan.count),
    },
  };
}
