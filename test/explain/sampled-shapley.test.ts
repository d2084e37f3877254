/**
 * Permutation-sampled Shapley values (for models with too many inputs to enumerate): close to the
 * exact values computed by brute force, and adding up exactly to risk - referenceRisk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelPackage, predictBatch, type ModelPackage } from '../../src/models/model-package.ts';
import { explainPrediction } from '../../src/explain/explain-prediction.ts';
import { copyPcePackage, tempDir } from '../models/pce-package-fixture.ts';

const tmp = tempDir();
let pkg: ModelPackage;
before(async () => {
  const dir = copyPcePackage(tmp.root);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  manifest.explanation = { ...manifest.explanation, method: 'sampled-shapley', samples: 4000 };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  pkg = await loadModelPackage(dir);
});
after(async () => {
  await pkg?.session.release();
  tmp.remove();
});

const logit = (p: number) => Math.log(p / (1 - p));

test('sampled Shapley values are close to brute-force exact values (log-odds) and add up exactly in risk units', async () => {
  const x = [61, 0, 0, 240, 38, 152, 1, 1, 1];
  const ref = [61, 0, 0, 170, 50, 110, 0, 0, 0];
  const free = [3, 4, 5, 6, 7, 8];
  // Brute force: v(S) for every coalition, Shapley weights.
  const coalitions = Array.from({ length: 1 << free.length }, (_, s) => x.map((v, j) => (free.includes(j) && !(s & (1 << free.indexOf(j))) ? ref[j]! : v)));
  const v = (await predictBatch(pkg, coalitions)).map(logit);
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const exact = free.map((_, i) => {
    let phi = 0;
    for (let s = 0; s < 1 << free.length; s++) {
      if (s & (1 << i)) continue;
      const size = [...Array(free.length).keys()].filter((b) => s & (1 << b)).length;
      phi += (fact(size) * fact(free.length - size - 1)) / fact(free.length) * (v[s | (1 << i)]! - v[s]!);
    }
    return phi;
  });
  const { risk, explanation } = await explainPrediction(pkg, x);
  const sum = explanation.referenceRisk + explanation.contributions.reduce((s, c) => s + c.contribution, 0);
  assert.ok(Math.abs(sum - risk) < 1e-12, 'adds up exactly');
  // Back to log-odds for the comparison.
  const scale = (risk - explanation.referenceRisk) / (logit(risk) - logit(explanation.referenceRisk));
  const sampled = free.map((j) => explanation.contributions[j]!.contribution / scale);
  const worst = Math.max(...sampled.map((s, i) => Math.abs(s - exact[i]!)));
  assert.ok(worst < 0.02 * Math.max(...exact.map(Math.abs)), `max difference ${worst} vs exact ${exact.map((e) => e.toFixed(3))}`);
  for (const j of [0, 1, 2]) assert.equal(explanation.contributions[j]!.contribution, 0, 'held inputs contribute nothing');
});
