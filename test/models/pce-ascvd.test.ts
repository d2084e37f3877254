import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildPceOnnx } from '../../models/pce-ascvd/build-onnx.ts';
import { categorize } from '../../src/models/categories.ts';
import type { ModelManifest } from '../../src/models/manifest.ts';
import { loadModelPackage, predictBatch } from '../../src/models/model-package.ts';
import { PCE_DIR, pceCases, pceRow, usePcePackage } from './pce-package-fixture.ts';

describe('the Pooled Cohort Equations package (models/pce-ascvd)', () => {
  const pkg = usePcePackage();

  test('every reference vector of pce.json comes out of onnxruntime within 0.001 percentage point', async () => {
    const cases = pceCases();
    assert.equal(cases.length, 204);
    const risks = await predictBatch(pkg(), cases.map(pceRow));
    const misses = cases
      .map((c, i) => ({ id: c.id, expected: c.expected_risk_percent, got: risks[i]! * 100 }))
      .filter((r) => !(Math.abs(r.got - r.expected) <= 0.001));
    assert.deepEqual(misses, []);
  });

  test('a row run alone gives the same risk as in a batch of many', async () => {
    const cases = pceCases().slice(0, 20);
    const batch = await predictBatch(pkg(), cases.map(pceRow));
    for (const [i, c] of cases.entries()) {
      const [alone] = await predictBatch(pkg(), [pceRow(c)]);
      assert.ok(Math.abs(alone! - batch[i]!) < 1e-15, c.id);
    }
  });

  test('inputs outside the valid range are scored as given, not clamped', async () => {
    const base = pceRow(pceCases()[2]!);
    const tooOld = [...base];
    tooOld[0] = 85;
    const oldest = [...base];
    oldest[0] = 79;
    const [r85, r79] = await predictBatch(pkg(), [tooOld, oldest]);
    assert.ok(r85! > r79!, `risk at 85 (${r85}) should exceed risk at 79 (${r79})`);
  });

  test('the committed model.onnx is exactly what build-onnx.ts builds, and the manifest holds its sha256', () => {
    const committed = readFileSync(join(PCE_DIR, 'model.onnx'));
    const built = buildPceOnnx();
    assert.ok(Buffer.from(built).equals(committed), 'model.onnx differs from a fresh build: run models/pce-ascvd/build-onnx.ts');
    const manifest = JSON.parse(readFileSync(join(PCE_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
    assert.equal(manifest.onnx.sha256, createHash('sha256').update(committed).digest('hex'));
  });

  test('the manifest reference cases include the four worked examples of the guideline', () => {
    const notes = (pkg().manifest.referenceCases ?? []).map((c) => c.note ?? '');
    for (const id of ['pce-published-ww', 'pce-published-aaw', 'pce-published-wm', 'pce-published-aam']) {
      assert.ok(notes.some((n) => n.includes(id)), id);
    }
    const byId = new Map(pceCases().map((c) => [c.id, c]));
    for (const rc of pkg().manifest.referenceCases ?? []) {
      const id = /pce\.json (\S+)/.exec(rc.note ?? '')?.[1];
      const source = byId.get(id ?? '');
      assert.ok(source, `reference case note names a pce.json case: ${rc.note}`);
      assert.deepEqual(pkg().featureIds.map((f) => rc.inputs[f]), pceRow(source));
      assert.ok(Math.abs(rc.expectedRisk * 100 - source.expected_risk_percent) < 1e-9);
    }
  });

  test(
    'the package as committed, with its own features.json, loads and reproduces its reference cases',
    { skip: existsSync(join(PCE_DIR, 'features.json')) ? false : 'models/pce-ascvd/features.json is not written yet' },
    async () => {
      const real = await loadModelPackage(PCE_DIR);
      assert.deepEqual(real.featureIds, pkg().featureIds);
      await real.session.release();
    },
  );

  test('the guideline categories split at 5 %, 7.5 % and 20 %', () => {
    const m = pkg().manifest;
    const codes = [0, 0.0499, 0.05, 0.0749, 0.075, 0.1999, 0.2, 0.9].map((r) => categorize(m, r).code);
    assert.deepEqual(codes, ['low', 'low', 'borderline', 'borderline', 'intermediate', 'intermediate', 'high', 'high']);
    assert.equal(categorize(m, 0.25).indicator, 'critical');
    assert.equal(categorize(m, 0.1).indicator, 'warning');
  });
});
