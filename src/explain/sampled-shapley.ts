/**
 * Model-agnostic Shapley values for models with more free inputs than exact enumeration allows:
 * permutation sampling (Štrumbelj & Kononenko, "Explaining prediction models and individual
 * predictions with feature contributions", Knowl Inf Syst 2014), antithetic (each permutation with
 * its reverse), all rows in the one batched session.run. Each permutation's marginal differences
 * telescope, so the values add up exactly to f(x) - f(reference) whatever the sample. Probabilities
 * are explained in log-odds (the differences are taken on logit(p)) and scaled back into risk units
 * so that they add up to risk - referenceRisk. Sample count: explanation.samples (default 128),
 * seeded so a prediction always gets the same explanation.
 */
import type { ModelPackage } from '../models/model-package.ts';
import { registerExplainer, referenceVector } from './explainers.ts';

/** Mulberry32: a small seeded PRNG (public domain algorithm by Tommy Ettinger). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const logit = (p: number) => Math.log(Math.min(Math.max(p, 1e-15), 1 - 1e-15) / (1 - Math.min(Math.max(p, 1e-15), 1 - 1e-15)));

export function permutationPlan(x: readonly number[], reference: readonly (number | 'patient')[], samples: number, seed = 1): { rows: Float64Array; count: number; orders: number[][]; free: number[]; width: number } {
  const width = x.length;
  const base = reference.map((r, j) => (r === 'patient' ? x[j]! : r));
  const free = reference.map((r, j) => (r === 'patient' ? -1 : j)).filter((j) => j >= 0);
  const rand = prng(seed);
  const orders: number[][] = [];
  for (let s = 0; s < Math.max(1, Math.floor(samples / 2)); s++) {
    const o = [...free];
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [o[i], o[j]] = [o[j]!, o[i]!];
    }
    orders.push(o, [...o].reverse());
  }
  const step = free.length + 1;
  const rows = new Float64Array(orders.length * step * width);
  orders.forEach((o, p) => {
    const row = [...base];
    rows.set(row, p * step * width);
    o.forEach((j, i) => {
      row[j] = x[j]!;
      rows.set(row, (p * step + i + 1) * width);
    });
  });
  return { rows, count: orders.length * step, orders, free, width };
}

registerExplainer('sampled-shapley', {
  plan(pkg: ModelPackage, x: readonly number[]) {
    const samples = pkg.manifest.explanation.samples ?? 128;
    const plan = permutationPlan(x, referenceVector(pkg.manifest), samples);
    const step = plan.free.length + 1;
    return {
      rows: plan.rows,
      count: plan.count,
      complete(risks: Float64Array) {
        const phi = new Float64Array(plan.width);
        const z = Array.from(risks, logit);
        plan.orders.forEach((o, p) => o.forEach((j, i) => (phi[j] = phi[j]! + z[p * step + i + 1]! - z[p * step + i]!)));
        for (let j = 0; j < plan.width; j++) phi[j] = phi[j]! / plan.orders.length;
        const risk = risks[step - 1]!;
        const referenceRisk = risks[0]!;
        const dz = z[step - 1]! - z[0]!;
        const scale = Math.abs(dz) > 1e-12 ? (risk - referenceRisk) / dz : risk * (1 - risk);
        return { risk, referenceRisk, contributions: pkg.featureIds.map((feature, j) => ({ feature, contribution: phi[j]! * scale })) };
      },
    };
  },
});
