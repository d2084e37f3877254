/**
 * "What would change it": the manifest's what-if scenarios applied to a patient's input.
 *
 * A scenario sets some features to new values and is offered when its `when` condition holds for
 * the patient and at least one value actually changes. One declarative extension of WhatIfSpec:
 * `"combine": "applicable"` (with an empty `set`) is a scenario that applies the changes of every
 * other offered scenario together, offered only when two or more of them apply ("all of these").
 * When two offered scenarios set the same feature, the later one in the manifest wins.
 */
import type { WhatIf } from '../domain.ts';
import type { ModelManifest, WhatIfSpec } from '../models/manifest.ts';

export type WhatIfScenarioSpec = WhatIfSpec & { combine?: 'applicable' };

export interface WhatIfScenario {
  label: string;
  changes: { feature: string; value: number }[];
  /** The patient's input with the changes applied, in feature order. */
  row: number[];
}

function holds(when: NonNullable<WhatIfSpec['when']>, value: number): boolean {
  switch (when.op) {
    case '>':
      return value > when.value;
    case '<':
      return value < when.value;
    case '==':
      return value === when.value;
    case '!=':
      return value !== when.value;
    default:
      throw new Error(`Unknown what-if operator "${String(when.op)}".`);
  }
}

function applyChanges(
  featureIds: readonly string[],
  x: readonly number[],
  set: Record<string, number>,
): { changes: WhatIfScenario['changes']; row: number[] } {
  const row = [...x];
  const changes: WhatIfScenario['changes'] = [];
  featureIds.forEach((id, j) => {
    const value = set[id];
    if (value !== undefined && value !== x[j]) {
      row[j] = value;
      changes.push({ feature: id, value });
    }
  });
  return { changes, row };
}

/** The scenarios offered for input x (feature order), each with the row to evaluate. */
export function whatIfScenarios(manifest: Pick<ModelManifest, 'features' | 'explanation'>, x: readonly number[]): WhatIfScenario[] {
  const featureIds = manifest.features.map((f) => f.id);
  const valueOf = (id: string): number => {
    const j = featureIds.indexOf(id);
    if (j < 0) throw new Error(`What-if refers to "${id}", which is not a feature of the model.`);
    return x[j]!;
  };
  const specs = manifest.explanation.whatIf as WhatIfScenarioSpec[];
  const offered: WhatIfScenario[] = [];
  const combined: Record<string, number> = {};
  for (const spec of specs) {
    if (spec.combine) continue;
    if (spec.when && !holds(spec.when, valueOf(spec.when.feature))) continue;
    const { changes, row } = applyChanges(featureIds, x, spec.set);
    if (!changes.length) continue;
    offered.push({ label: spec.label, changes, row });
    Object.assign(combined, spec.set);
  }
  const single = offered.length;
  for (const spec of specs) {
    if (spec.combine !== 'applicable' || single < 2) continue;
    const { changes, row } = applyChanges(featureIds, x, { ...combined, ...spec.set });
    offered.push({ label: spec.label, changes, row });
  }
  return offered;
}

/** WhatIf results from scenarios and their risks (risks[offset + i] belongs to scenario i). */
export function whatIfResults(scenarios: readonly WhatIfScenario[], risks: ArrayLike<number>, offset = 0): WhatIf[] {
  return scenarios.map((s, i) => ({ label: s.label, risk: risks[offset + i]!, changes: s.changes }));
}

/** Evaluates the offered scenarios in one call of `evaluate`. */
export async function evaluateWhatIfs(
  manifest: Pick<ModelManifest, 'features' | 'explanation'>,
  x: readonly number[],
  evaluate: (rows: number[][]) => Promise<ArrayLike<number>>,
): Promise<WhatIf[]> {
  const scenarios = whatIfScenarios(manifest, x);
  if (!scenarios.length) return [];
  return whatIfResults(scenarios, await evaluate(scenarios.map((s) => s.row)));
}
