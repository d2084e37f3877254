/**
 * One CDS service call, start to finish: validated request -> patient data -> inputs ->
 * applicability and missing data -> prediction + explanation -> cards. Pure apart from the data
 * fetch and the explanation store, which come in as dependencies.
 */
import { randomUUID } from 'node:crypto';
import type { Input, InsufficientData, Prediction } from '../domain.ts';
import { badRequest } from '../errors.ts';
import { checkApplicability, missingRequired } from '../features/applicability.ts';
import { extractInputs } from '../features/extract.ts';
import { gatherPatientData } from '../fhir/patient-data.ts';
import type { ModelPackage } from '../models/model-package.ts';
import { categorize } from '../models/categories.ts';
import { explainPrediction } from '../explain/explain-prediction.ts';
import type { Card } from '../cards/card.ts';
import { renderCombinedRiskCard, renderInsufficientDataCard, renderNotApplicableCard, renderRiskCard } from '../cards/render-card.ts';
import type { HookRequest } from './hook-request.ts';
import type { ServiceDefinition } from './service-definitions.ts';

export interface ServiceDeps {
  publicUrl: string;
  fetchBudgetMs: number;
  now: () => Date;
  /** SSRF guard: may the service call this FHIR server for this caller? */
  fhirServerAllowed: (fhirServer: string) => boolean;
  /** Keeps a prediction's full explanation behind an opaque id; returns the page URL. */
  saveExplanation?: (payload: unknown) => Promise<string>;
}

export type ServiceOutcome = 'card' | 'no-card' | 'not-applicable' | 'insufficient-data';

export interface ServiceResult {
  cards: Card[];
  outcome: ServiceOutcome;
  modelId: string;
  modelVersion: string;
  risk: number | null;
  patientId: string;
  /** Milliseconds per stage, for metrics and the latency budget. */
  stages: { data: number; features: number; explanation: number; cards: number };
  /** Inputs as extracted (for drift and data-quality metrics; never logged). */
  inputs: Input[];
}

/** Time the data fetch may take out of the request budget: all but min(250 ms, 20 %) of it. */
export function fetchDeadlineMs(budgetMs: number): number {
  return Math.max(1, budgetMs - Math.min(250, budgetMs * 0.2));
}

export async function runService(service: ServiceDefinition, models: readonly ModelPackage[], request: HookRequest, deps: ServiceDeps): Promise<ServiceResult> {
  const primary = models[0]!;
  const m = primary.manifest;
  const patientId = String(request.context.patientId);
  if (request.fhirServer && !deps.fhirServerAllowed(request.fhirServer)) {
    throw badRequest('fhirServer is not on this service\'s list of FHIR servers it may call for this client.', 'fhirServer');
  }

  let t = performance.now();
  const data = await gatherPatientData({
    templates: service.prefetch,
    ...(request.prefetch ? { prefetch: request.prefetch } : {}),
    ...(request.fhirServer ? { fhirServer: request.fhirServer } : {}),
    ...(request.fhirAuthorization ? { accessToken: request.fhirAuthorization.accessToken } : {}),
    context: request.context,
    // The budget bounds the whole call: keep a share of it for the work after the fetch.
    budgetMs: fetchDeadlineMs(deps.fetchBudgetMs),
    requiredKeys: [service.patientKey],
  });
  const stages = { data: performance.now() - t, features: 0, explanation: 0, cards: 0 };

  t = performance.now();
  const now = deps.now();
  const record = { patient: data.patient, resources: data.resources };
  const perModel = models.map((pkg) => {
    const inputs = extractInputs(pkg.manifest.features, record, now);
    return { pkg, inputs, applicability: checkApplicability(pkg.manifest.applicability, record, inputs, now) };
  });
  const inputs = perModel[0]!.inputs;
  const applicability = perModel[0]!.applicability;
  // Missing inputs of every model shown, once each.
  const missing = applicability.applicable
    ? [...new Map(perModel.flatMap((x) => missingRequired(x.pkg.manifest.features, x.inputs)).map((x) => [x.feature, x])).values()]
    : [];
  stages.features = performance.now() - t;

  const base = { modelId: m.id, modelVersion: m.version, patientId, inputs };
  const ctx = { manifest: m, publicUrl: deps.publicUrl, uuid: randomUUID(), topFactors: service.cards.topFactors };

  if (!applicability.applicable) {
    t = performance.now();
    const cards = service.cards.notApplicable === 'info-card' ? [renderNotApplicableCard(ctx, applicability.reasons)] : [];
    stages.cards = performance.now() - t;
    return { ...base, cards, outcome: 'not-applicable', risk: null, stages };
  }
  if (missing.length) {
    t = performance.now();
    const insufficient: InsufficientData = { kind: 'insufficient-data', missing, inputs };
    const cards = [renderInsufficientDataCard(ctx, insufficient, patientId)];
    stages.cards = performance.now() - t;
    return { ...base, cards, outcome: 'insufficient-data', risk: null, stages };
  }

  t = performance.now();
  const explained = await Promise.all(
    perModel.map(async ({ pkg, inputs: xs }) => {
      const x = xs.map((i) => (i.value === null ? Number.NaN : i.value));
      const { risk, explanation } = await explainPrediction(pkg, x);
      const prediction: Prediction = { modelId: pkg.manifest.id, modelVersion: pkg.manifest.version, risk, category: categorize(pkg.manifest, risk), inputs: xs };
      return { manifest: pkg.manifest, prediction, explanation };
    }),
  );
  stages.explanation = performance.now() - t;

  t = performance.now();
  const first = explained[0]!;
  const explanationUrl = deps.saveExplanation
    ? await deps.saveExplanation({ serviceId: service.id, cardUuid: ctx.uuid, prediction: first.prediction, explanation: first.explanation, ...(explained.length > 1 ? { others: explained.slice(1).map((e) => ({ prediction: e.prediction, explanation: e.explanation })) } : {}), createdAt: now.toISOString() })
    : undefined;
  const cards = [explained.length === 1 ? renderRiskCard(ctx, first.prediction, first.explanation, explanationUrl) : renderCombinedRiskCard(ctx, service.title, explained, explanationUrl)];
  stages.cards = performance.now() - t;
  return { ...base, cards, outcome: 'card', risk: first.prediction.risk, stages };
}
