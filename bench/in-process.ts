/**
 * Work per request measured inside one process, without HTTP: the service's own pipeline
 * functions (src/cds/run-service.ts and what it calls) timed directly over many iterations, and
 * the explanation of every bundled model timed on its manifest's reference cases.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { summarize, type TimingSummary } from './quantiles.ts';

export interface PipelineTiming {
  iterations: number;
  outcome: string;
  cards: number;
  /** JSON.parse of the request body (express.json does this in the service). */
  parse: TimingSummary;
  /** parseHookRequest + runService + JSON.stringify of the answer: the service's own work. */
  work: TimingSummary;
  stages: Record<string, TimingSummary>;
}

/** Runs until `iterations` or `budgetMs`, whichever comes first, after a warm-up. */
export async function measurePipeline(opts: { root: string; serviceId: string; bodyText: string; now: Date; iterations: number; budgetMs: number }): Promise<PipelineTiming> {
  const { loadModelPackages } = await import('../src/models/model-package.ts');
  const { loadServiceDefinitions, bindPrefetchToModel } = await import('../src/cds/service-definitions.ts');
  const { parseHookRequest } = await import('../src/cds/hook-request.ts');
  const { runService } = await import('../src/cds/run-service.ts');
  const models = await loadModelPackages(join(opts.root, 'models'));
  const def = loadServiceDefinitions(join(opts.root, 'cds-hooks'), new Set(models.keys())).find((s) => s.id === opts.serviceId);
  if (!def) throw new Error(`service ${opts.serviceId} is not defined`);
  const model = models.get(def.model)!;
  const service = bindPrefetchToModel(def, model.manifest.features);
  // No explanation store here: the HTTP runs include its write, this measures the CPU work alone.
  const deps = { publicUrl: 'http://127.0.0.1', fetchBudgetMs: 1500, now: () => new Date(opts.now), fhirServerAllowed: () => false };

  const parse: number[] = [];
  const work: number[] = [];
  const stages: Record<string, number[]> = {};
  let outcome = '';
  let cards = 0;
  const once = async (record: boolean) => {
    const t0 = performance.now();
    const body: unknown = JSON.parse(opts.bodyText);
    const t1 = performance.now();
    const request = parseHookRequest(body, service.hook);
    const result = await runService(service, [model], request, deps);
    const answer = JSON.stringify({ cards: result.cards });
    const t2 = performance.now();
    if (!record) return;
    if (!answer.length) throw new Error('empty answer');
    parse.push(t1 - t0);
    work.push(t2 - t1);
    for (const [k, v] of Object.entries(result.stages)) (stages[k] ??= []).push(v);
    outcome = result.outcome;
    cards = result.cards.length;
  };
  const warmUntil = performance.now() + Math.min(1000, opts.budgetMs / 4);
  for (let i = 0; i < 200 && performance.now() < warmUntil; i++) await once(false);
  const until = performance.now() + opts.budgetMs;
  for (let i = 0; i < opts.iterations && performance.now() < until; i++) await once(true);
  return {
    iterations: work.length,
    outcome,
    cards,
    parse: summarize(parse),
    work: summarize(work),
    stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, summarize(v)])),
  };
}

export interface ExplanationTiming {
  modelId: string;
  method: string;
  features: number;
  cases: number;
  perCard: TimingSummary;
}

/** Every package in models/, loaded with the service's own loader; explainPrediction per reference case. */
export async function measureExplanations(opts: { root: string; budgetMsPerModel: number }): Promise<{ timings: ExplanationTiming[]; problems: string[] }> {
  const { loadModelPackage } = await import('../src/models/model-package.ts');
  const { explainPrediction } = await import('../src/explain/explain-prediction.ts');
  const dir = join(opts.root, 'models');
  const timings: ExplanationTiming[] = [];
  const problems: string[] = [];
  for (const id of readdirSync(dir).sort()) {
    if (!existsSync(join(dir, id, 'manifest.json'))) continue;
    try {
      const pkg = await loadModelPackage(join(dir, id));
      const m = pkg.manifest;
      const cases = (m.referenceCases ?? []).map((c) => m.features.map((f) => c.inputs[f.id] ?? Number.NaN));
      if (!cases.length) throw new Error('the manifest has no referenceCases to explain');
      const samples: number[] = [];
      for (let i = 0; i < 50; i++) await explainPrediction(pkg, cases[i % cases.length]!);
      const until = performance.now() + opts.budgetMsPerModel;
      for (let i = 0; i < 20_000 && performance.now() < until; i++) {
        const x = cases[i % cases.length]!;
        const t = performance.now();
        await explainPrediction(pkg, x);
        samples.push(performance.now() - t);
      }
      timings.push({ modelId: m.id, method: m.explanation.method, features: m.features.length, cases: cases.length, perCard: summarize(samples) });
    } catch (e) {
      problems.push(`${id}: ${(e as Error).message}`);
    }
  }
  return { timings, problems };
}
