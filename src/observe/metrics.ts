/**
 * Prometheus metrics (prom-client), one registry per app so tests can build several apps.
 * Series: HTTP and per-stage latency, cards by indicator and outcome, per-feature input quality
 * (missing / imputed / out-of-range / converted / stale), feedback outcomes and override reasons,
 * and drift: the population stability index of live inputs against each model package's training
 * distribution, over a sliding window of recent predictions.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Input } from '../domain.ts';
import { populationStabilityIndex, type FeatureDistribution } from './drift.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface TrainingDistributions {
  /** model id -> feature id -> distribution */
  [modelId: string]: Record<string, FeatureDistribution>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly http: Histogram<'route' | 'method' | 'status'>;
  private readonly service: Histogram<'service' | 'status'>;
  private readonly stage: Histogram<'service' | 'stage'>;
  private readonly cards: Counter<'service' | 'indicator' | 'outcome'>;
  private readonly inputs: Counter<'model' | 'feature'>;
  private readonly quality: Counter<'model' | 'feature' | 'flag'>;
  private readonly feedback: Counter<'service' | 'outcome'>;
  private readonly overrideReasons: Counter<'service' | 'reason'>;
  private readonly drift: Gauge<'model' | 'feature'>;
  private readonly windows = new Map<string, Map<string, number[]>>();

  constructor(
    private readonly distributions: TrainingDistributions = {},
    private readonly windowSize = 500,
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'riskcards_' });
    this.http = new Histogram({ name: 'riskcards_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.service = new Histogram({ name: 'riskcards_service_duration_seconds', help: 'CDS service call latency, end to end', labelNames: ['service', 'status'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.stage = new Histogram({ name: 'riskcards_stage_duration_seconds', help: 'Latency per pipeline stage (prefetch, fetch, features, inference, explanation, cards)', labelNames: ['service', 'stage'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.cards = new Counter({ name: 'riskcards_cards_total', help: 'Cards returned, by indicator and outcome', labelNames: ['service', 'indicator', 'outcome'], registers: [r] });
    this.inputs = new Counter({ name: 'riskcards_inputs_total', help: 'Model inputs extracted (denominator of the quality rates)', labelNames: ['model', 'feature'], registers: [r] });
    this.quality = new Counter({ name: 'riskcards_input_quality_total', help: 'Inputs by quality flag: missing, imputed, out-of-range, converted, stale, ...', labelNames: ['model', 'feature', 'flag'], registers: [r] });
    this.feedback = new Counter({ name: 'riskcards_feedback_total', help: 'Feedback received, by outcome', labelNames: ['service', 'outcome'], registers: [r] });
    this.overrideReasons = new Counter({ name: 'riskcards_override_reasons_total', help: 'Override reasons received', labelNames: ['service', 'reason'], registers: [r] });
    this.drift = new Gauge({ name: 'riskcards_drift_psi', help: 'Population stability index of recent inputs vs the training distribution', labelNames: ['model', 'feature'], registers: [r] });
    for (const [model, features] of Object.entries(distributions)) for (const f of Object.keys(features)) this.drift.set({ model, feature: f }, 0);
  }

  observeHttp(route: string, method: string, status: number, seconds: number): void {
    this.http.observe({ route, method, status: String(status) }, seconds);
  }

  observeService(service: string, status: number, seconds: number, stages?: Record<string, number>): void {
    this.service.observe({ service, status: String(status) }, seconds);
    for (const [stage, ms] of Object.entries(stages ?? {})) this.stage.observe({ service, stage }, ms / 1000);
  }

  countCards(service: string, outcome: string, indicators: string[]): void {
    for (const indicator of indicators) this.cards.inc({ service, indicator, outcome });
  }

  observeInputs(model: string, inputs: readonly Input[]): void {
    for (const i of inputs) {
      this.inputs.inc({ model, feature: i.feature });
      for (const q of i.quality) this.quality.inc({ model, feature: i.feature, flag: q.flag });
    }
    const dist = this.distributions[model];
    if (!dist) return;
    let windows = this.windows.get(model);
    if (!windows) this.windows.set(model, (windows = new Map()));
    for (const i of inputs) {
      const d = dist[i.feature];
      if (!d || i.value === null || !Number.isFinite(i.value)) continue;
      let w = windows.get(i.feature);
      if (!w) windows.set(i.feature, (w = []));
      w.push(i.value);
      if (w.length > this.windowSize) w.shift();
      this.drift.set({ model, feature: i.feature }, populationStabilityIndex(d, w));
    }
  }

  countFeedback(service: string, items: readonly { outcome: string; overrideReason?: { reason?: { code?: string } } }[]): void {
    for (const it of items) {
      this.feedback.inc({ service, outcome: it.outcome });
      const code = it.overrideReason?.reason?.code;
      if (code) this.overrideReasons.inc({ service, reason: code });
    }
  }
}
