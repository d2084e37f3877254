import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateWhatIfs, whatIfScenarios } from '../../src/explain/what-if.ts';
import type { ModelManifest } from '../../src/models/manifest.ts';
import { predictBatch } from '../../src/models/model-package.ts';
import { usePcePackage } from '../models/pce-package-fixture.ts';

// age, female, african_american, TC, HDL, SBP, bp_treated, smoker, diabetes
const hypertensiveSmoker = [58, 0, 0, 230, 42, 148, 1, 1, 0];

describe('what-if scenarios of the PCE package', () => {
  const pkg = usePcePackage();

  test('a smoker with high blood pressure and cholesterol is offered each change and all of them together', async () => {
    const results = await evaluateWhatIfs(pkg().manifest, hypertensiveSmoker, (rows) => predictBatch(pkg(), rows));
    assert.deepEqual(
      results.map((r) => r.changes),
      [
        [{ feature: 'systolic_bp', value: 120 }],
        [{ feature: 'smoker', value: 0 }],
        [{ feature: 'total_cholesterol', value: 170 }],
        [
          { feature: 'total_cholesterol', value: 170 },
          { feature: 'systolic_bp', value: 120 },
          { feature: 'smoker', value: 0 },
        ],
      ],
    );
    assert.equal(results[3]!.label, 'All of these');
    const direct = await predictBatch(pkg(), [
      [58, 0, 0, 230, 42, 120, 1, 1, 0],
      [58, 0, 0, 230, 42, 148, 1, 0, 0],
      [58, 0, 0, 170, 42, 148, 1, 1, 0],
      [58, 0, 0, 170, 42, 120, 1, 0, 0],
    ]);
    results.forEach((r, i) => assert.ok(Math.abs(r.risk - direct[i]!) < 1e-15, `${r.label}: ${r.risk} vs ${direct[i]}`));
    const [current] = await predictBatch(pkg(), [hypertensiveSmoker]);
    results.forEach((r) => assert.ok(r.risk < current!, `${r.label} lowers the risk`));
  });

  test('a patient already at every target is offered nothing', () => {
    assert.deepEqual(whatIfScenarios(pkg().manifest, [58, 0, 0, 165, 42, 118, 0, 0, 0]), []);
  });

  test('a patient for whom only one change applies gets no combined scenario', () => {
    const offered = whatIfScenarios(pkg().manifest, [58, 1, 1, 165, 60, 118, 0, 1, 1]);
    assert.deepEqual(offered.map((s) => s.label), ['Not smoking']);
  });
});

describe('what-if semantics', () => {
  const manifest = {
    features: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    explanation: {
      whatIf: [
        { label: 'a to 0 when below 5', set: { a: 0 }, when: { feature: 'a', op: '<', value: 5 } },
        { label: 'b to 1 when not 1', set: { b: 1 }, when: { feature: 'b', op: '!=', value: 1 } },
        { label: 'a to 2 and c to 3', set: { a: 2, c: 3 } },
        { label: 'everything', set: {}, combine: 'applicable' },
      ],
    },
  } as unknown as Pick<ModelManifest, 'features' | 'explanation'>;

  test('conditions use the patient\'s values, and a later scenario wins a feature in the combination', () => {
    const offered = whatIfScenarios(manifest, [1, 0, 0]);
    assert.deepEqual(offered.map((s) => s.label), ['a to 0 when below 5', 'b to 1 when not 1', 'a to 2 and c to 3', 'everything']);
    assert.deepEqual(offered[3]!.row, [2, 1, 3]);
  });

  test('a scenario that would change nothing is not offered', () => {
    const offered = whatIfScenarios(manifest, [2, 1, 3]);
    assert.deepEqual(offered.map((s) => s.label), ['a to 0 when below 5']);
  });
});
