import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainPrediction } from '../../src/explain/explain-prediction.ts';
import { explanationProblems, registerExplainer } from '../../src/explain/explainers.ts';
import { predictBatch } from '../../src/models/model-package.ts';
import { pceCases, pceRow, usePcePackage } from '../models/pce-package-fixture.ts';

describe('explainPrediction', () => {
  const pkg = usePcePackage();

  test('gives the model\'s risk, a reference risk and contributions that add up to their difference', async () => {
    for (const c of pceCases().filter((_, i) => i % 10 === 0)) {
      const x = pceRow(c);
      const { risk, explanation } = await explainPrediction(pkg(), x);
      const [direct, reference] = await predictBatch(pkg(), [x, [x[0]!, x[1]!, x[2]!, 170, 50, 110, 0, 0, 0]]);
      assert.ok(Math.abs(risk - direct!) < 1e-15, c.id);
      assert.ok(Math.abs(explanation.referenceRisk - reference!) < 1e-15, c.id);
      const sum = explanation.contributions.reduce((a, b) => a + b.contribution, 0);
      assert.ok(Math.abs(explanation.referenceRisk + sum - risk) < 1e-14, c.id);
      assert.deepEqual(explanation.contributions.map((k) => k.feature), pkg().featureIds);
      assert.deepEqual(explanation.contributions.slice(0, 3).map((k) => k.contribution), [0, 0, 0]);
      assert.equal(explanation.method, 'exact-shapley');
      assert.equal(explanation.referenceDescription, pkg().manifest.explanation.referenceDescription);
    }
  });

  test('a smoker\'s smoking contribution is positive and the what-if risks come from the same model', async () => {
    const x = [62, 0, 1, 240, 38, 152, 0, 1, 1];
    const { explanation } = await explainPrediction(pkg(), x);
    const smoking = explanation.contributions.find((c) => c.feature === 'smoker')!;
    assert.ok(smoking.contribution > 0);
    assert.deepEqual(explanation.whatIf.map((w) => w.label), [
      'Systolic blood pressure at 120 mm Hg',
      'Not smoking',
      'Total cholesterol at 170 mg/dL',
      'All of these',
    ]);
    const [noSmoking] = await predictBatch(pkg(), [[62, 0, 1, 240, 38, 152, 0, 0, 1]]);
    assert.ok(Math.abs(explanation.whatIf[1]!.risk - noSmoking!) < 1e-15);
  });

  test('runs the coalitions and what-ifs in a single session.run', async () => {
    let runs = 0;
    let rows = 0;
    const session = new Proxy(pkg().session, {
      get(target, prop) {
        if (prop === 'run') {
          return (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
            runs++;
            rows += feeds.features!.dims[0]!;
            return (target.run as (...a: unknown[]) => unknown).call(target, feeds, ...rest);
          };
        }
        return Reflect.get(target, prop, target);
      },
    });
    await explainPrediction({ ...pkg(), session }, [62, 0, 1, 240, 38, 152, 0, 1, 1]);
    assert.equal(runs, 1);
    assert.equal(rows, 64 + 4);
  });

  test('a method added to the registry is used by a manifest naming it, and an unknown one is refused', async () => {
    registerExplainer('test-difference-from-zero', {
      plan(_pkg, x) {
        const rows = new Float64Array(2 * x.length);
        rows.set(x);
        rows.set([x[0]!, x[1]!, x[2]!, 170, 50, 110, 0, 0, 0], x.length);
        return {
          rows,
          count: 2,
          complete: (risks) => ({
            risk: risks[0]!,
            referenceRisk: risks[1]!,
            contributions: [{ feature: 'everything', contribution: risks[0]! - risks[1]! }],
          }),
        };
      },
    });
    const manifest = { ...pkg().manifest, explanation: { ...pkg().manifest.explanation, method: 'test-difference-from-zero' } };
    assert.deepEqual(explanationProblems(manifest), []);
    const { risk, explanation } = await explainPrediction({ ...pkg(), manifest }, [62, 0, 1, 240, 38, 152, 0, 1, 1]);
    assert.equal(explanation.method, 'test-difference-from-zero');
    assert.equal(explanation.contributions.length, 1);
    assert.ok(Math.abs(explanation.referenceRisk + explanation.contributions[0]!.contribution - risk) < 1e-15);

    const unknown = { ...pkg().manifest, explanation: { ...pkg().manifest.explanation, method: 'crystal-ball' } };
    assert.match(explanationProblems(unknown)[0]!, /"crystal-ball" is not available/);
    await assert.rejects(explainPrediction({ ...pkg(), manifest: unknown }, pceRow(pceCases()[0]!)), /crystal-ball/);
  });

  test('explaining a PCE prediction takes well under a few milliseconds', async (t) => {
    const xs = pceCases().map(pceRow);
    for (const x of xs.slice(0, 20)) await explainPrediction(pkg(), x);
    const started = performance.now();
    const n = 400;
    for (let i = 0; i < n; i++) await explainPrediction(pkg(), xs[i % xs.length]!);
    const perExplanation = (performance.now() - started) / n;
    t.diagnostic(`mean ${perExplanation.toFixed(3)} ms per explanation (64 coalitions + what-ifs)`);
    // Loose bound: the machine is shared; bench/ measures the real figure.
    assert.ok(perExplanation < 5, `${perExplanation} ms`);
  });
});
