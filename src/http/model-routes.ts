/**
 * Model cards for people and machines: GET /models, /models/{id} (JSON) and /models/{id}/card
 * (an HTML page). Everything shown comes from the model package's manifest.
 */
import { Router } from 'express';
import { notFound } from '../errors.ts';
import type { ModelPackage } from '../models/model-package.ts';
import { renderModelCardPage } from '../cards/model-card-page.ts';

export function modelSummary(pkg: ModelPackage): Record<string, unknown> {
  const m = pkg.manifest;
  return {
    id: m.id,
    version: m.version,
    name: m.name,
    outcome: m.outcome,
    ...(m.horizonYears ? { horizonYears: m.horizonYears } : {}),
    sha256: m.onnx.sha256,
    explanation: m.explanation.method,
    intendedUse: m.modelCard.intendedUse,
  };
}

export function modelRoutes(models: ReadonlyMap<string, ModelPackage>, publicUrl: string): Router {
  const router = Router();
  const get = (id: string): ModelPackage => {
    const pkg = models.get(id);
    if (!pkg) throw notFound(`No model with id "${id}".`, 'id');
    return pkg;
  };
  router.get('/models', (_req, res) => {
    res.json({ models: [...models.values()].map((p) => ({ ...modelSummary(p), card: `${publicUrl}/models/${encodeURIComponent(p.manifest.id)}/card` })) });
  });
  router.get('/models/:id', (req, res) => {
    const pkg = get(String(req.params.id));
    const m = pkg.manifest;
    res.json({
      ...modelSummary(pkg),
      inputs: m.features.map((f) => ({
        id: f.id,
        label: f.label,
        unit: f.unit,
        source: f.source,
        ...('codes' in f ? { codes: f.codes } : {}),
        ...(f.source === 'coded-flag' ? { evidence: f.evidence } : {}),
        missing: f.missing,
        ...(f.validRange ? { validRange: f.validRange } : {}),
      })),
      applicability: m.applicability,
      categories: m.categories,
      explanationSettings: m.explanation,
      modelCard: m.modelCard,
    });
  });
  router.get('/models/:id/card', (req, res) => {
    const pkg = get(String(req.params.id));
    res.type('html').send(renderModelCardPage(pkg.manifest));
  });
  return router;
}
