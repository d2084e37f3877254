/**
 * TreeSHAP read from the ONNX graph against xgboost's own pred_contribs on all 768 rows of the
 * Pima data (fixture written by the training pipeline), and the explainer's sum identity in risk
 * units through onnxruntime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadModelPackage } from '../../src/models/model-package.ts';
import { treeEnsembleOf, treeShapMargin } from '../../src/explain/tree-shap.ts';
import { explainPrediction } from '../../src/explain/explain-prediction.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/pima/xgb-contribs.json', import.meta.url), 'utf8')) as {
  rows: { input: (number | null)[]; contribs: number[]; bias: number; margin: number }[];
};
const pkg = await loadModelPackage(new URL('../../models/pima-diabetes/', import.meta.url).pathname);

test('TreeSHAP from the ONNX graph matches xgboost pred_contribs on every row (max abs diff <= 1e-5 log-odds)', () => {
  const e = treeEnsembleOf(pkg.graph);
  let worst = 0;
  assert.ok(fixture.rows.length >= 500);
  for (const r of fixture.rows) {
    const x = r.input.map((v) => (v === null ? Number.NaN : v));
    const { phi, expected, margin } = treeShapMargin(e, x);
    worst = Math.max(worst, Math.abs(expected - r.bias), Math.abs(margin - r.margin), ...r.contribs.map((c, j) => Math.abs(c - phi[j]!)));
  }
  assert.ok(worst <= 1e-5, `max abs difference ${worst}`);
});

test('explanations in risk units add up to risk minus the reference risk, with missing inputs passed as NaN', async () => {
  for (const r of fixture.rows.slice(0, 50)) {
    const x = r.input.map((v) => (v === null ? Number.NaN : v));
    if (x.some((v, j) => Number.isNaN(v) && ![2, 3].includes(j))) continue; // only BP and BMI may be missing
    const { risk, explanation } = await explainPrediction(pkg, x);
    const sum = explanation.referenceRisk + explanation.contributions.reduce((s, c) => s + c.contribution, 0);
    assert.ok(Math.abs(sum - risk) < 1e-9);
    assert.ok(Math.abs(risk - 1 / (1 + Math.exp(-r.margin))) < 1e-5, 'the risk is onnxruntime\'s');
  }
});

test('interventional TreeSHAP against the shipped background sample matches the exact values of the training pipeline (<= 1e-5 log-odds)', async () => {
  const { interventionalShapMargin } = await import('../../src/explain/tree-shap.ts');
  const inter = JSON.parse(readFileSync(new URL('../fixtures/pima/interventional-shap.json', import.meta.url), 'utf8')) as { expectedValue: number; rows: { input: (number | null)[]; phi: number[]; margin: number }[] };
  const bg = JSON.parse(readFileSync(new URL('../../models/pima-diabetes/background.json', import.meta.url), 'utf8')) as { rows: (number | null)[][] };
  const background = bg.rows.map((r) => r.map((v) => (v === null ? Number.NaN : v)));
  const e = treeEnsembleOf(pkg.graph);
  let worst = 0;
  for (const r of inter.rows) {
    const { phi, expected, margin } = interventionalShapMargin(e, r.input.map((v) => (v === null ? Number.NaN : v)), background);
    worst = Math.max(worst, Math.abs(expected - inter.expectedValue), Math.abs(margin - r.margin), ...r.phi.map((p, j) => Math.abs(p - phi[j]!)));
  }
  assert.ok(inter.rows.length >= 50);
  assert.ok(worst <= 1e-5, `max abs difference ${worst}`);
});
