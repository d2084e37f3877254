/**
 * Reads each model package's training distribution (training-distribution.json, optional) for
 * drift monitoring: `{ "features": { "<feature id>": { "edges": [...], "proportions": [...] } } }`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelPackage } from '../models/model-package.ts';
import type { FeatureDistribution } from './drift.ts';
import type { TrainingDistributions } from './metrics.ts';

export function loadTrainingDistributions(models: ReadonlyMap<string, ModelPackage>): TrainingDistributions {
  const out: TrainingDistributions = {};
  for (const [id, pkg] of models) {
    const file = join(pkg.dir, 'training-distribution.json');
    if (!existsSync(file)) continue;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { features?: Record<string, FeatureDistribution> };
    const features: Record<string, FeatureDistribution> = {};
    for (const [f, d] of Object.entries(raw.features ?? {})) {
      if (Array.isArray(d.edges) && Array.isArray(d.proportions) && d.proportions.length === d.edges.length + 1) features[f] = d;
    }
    out[id] = features;
  }
  return out;
}
