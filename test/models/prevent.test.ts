/**
 * The AHA PREVENT base 10-year packages (models/prevent-total-cvd, prevent-ascvd, prevent-hf):
 * reference vectors through onnxruntime, the published worked example, package loading and
 * refusal, the committed files against a fresh build, explanations, and a Synthea patient end to end.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildPreventPackages } from '../../models/prevent-build/build-packages.ts';
import { FEATURES, OUTCOMES, readCoefficients, type Outcome } from '../../models/prevent-build/prevent-graph.ts';
import { PACKAGES, vectorInputs, type ReferenceVector } from '../../models/prevent-build/prevent-manifest.ts';
import { explainPrediction } from '../../src/explain/explain-prediction.ts';
import { checkApplicability } from '../../src/features/applicability.ts';
import { extractInputs } from '../../src/features/extract.ts';
import { loadModelPackage, ModelPackageError, predictBatch, type ModelPackage } from '../../src/models/model-package.ts';
import { fixturePatientIds, lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';

const MODELS = new URL('../../models/', import.meta.url);
const dirOf = (id: string) => fileURLToPath(new URL(`${id}/`, MODELS));

interface PreventCase extends ReferenceVector {
  published_percent?: Record<Outcome, number>;
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/reference-vectors/prevent.json', import.meta.url), 'utf8')) as { cases: PreventCase[] };
const row = (c: ReferenceVector) => {
  const inputs = vectorInputs(c);
  return FEATURES.map((f) => inputs[f]);
};

describe('the AHA PREVENT packages', () => {
  const packages = new Map<Outcome, ModelPackage>();
  before(async () => {
    for (const { id, outcome } of PACKAGES) packages.set(outcome, await loadModelPackage(dirOf(id)));
  });
  after(async () => {
    for (const p of packages.values()) await p.session.release();
  });

  test('loadModelPackage accepts all three, with ids, sha256 and reference cases as built', () => {
    assert.deepEqual(
      [...packages.values()].map((p) => p.manifest.id),
      ['prevent-total-cvd', 'prevent-ascvd', 'prevent-hf'],
    );
    for (const p of packages.values()) {
      assert.deepEqual(p.featureIds, [...FEATURES]);
      assert.ok((p.manifest.referenceCases ?? []).length >= 12, p.manifest.id);
    }
  });

  test('every case of prevent.json, all three outcomes and both sexes, comes out of onnxruntime within 0.001 percentage point', async () => {
    const cases = vectors.cases;
    assert.equal(cases.length, 130);
    assert.ok(cases.some((c) => c.sex === 'female') && cases.some((c) => c.sex === 'male'));
    const misses: { id: string; outcome: Outcome; expected: number; got: number }[] = [];
    for (const outcome of OUTCOMES) {
      const risks = await predictBatch(packages.get(outcome)!, cases.map(row));
      cases.forEach((c, i) => {
        const expected = c[`expected_10yr_${outcome}_percent`];
        const got = risks[i]! * 100;
        if (!(Math.abs(got - expected) <= 0.001)) misses.push({ id: c.id, outcome, expected, got });
      });
    }
    assert.deepEqual(misses, []);
  });

  test('the published worked example reproduces: women 14.7 / 9.2 / 8.1 %, men 16.3 / 10.2 / 10.6 % within 0.1 point', async () => {
    const printed: Record<'female' | 'male', Record<Outcome, number>> = {
      female: { total_cvd: 14.7, ascvd: 9.2, heart_failure: 8.1 },
      male: { total_cvd: 16.3, ascvd: 10.2, heart_failure: 10.6 },
    };
    for (const sex of ['female', 'male'] as const) {
      const c = vectors.cases.find((x) => x.id === `prevent-published-${sex}`)!;
      assert.deepEqual(c.published_percent, printed[sex]);
      for (const outcome of OUTCOMES) {
        const [risk] = await predictBatch(packages.get(outcome)!, [row(c)]);
        assert.ok(Math.abs(risk! * 100 - printed[sex][outcome]) <= 0.1, `${sex} ${outcome}: ${risk! * 100}`);
      }
    }
  });

  test('each reference case in a manifest is a prevent.json case with that case\'s expected risk', () => {
    const byId = new Map(vectors.cases.map((c) => [c.id, c]));
    for (const [outcome, p] of packages) {
      const notes = (p.manifest.referenceCases ?? []).map((rc) => rc.note ?? '');
      assert.ok(notes.some((n) => n.endsWith('prevent-published-female')) && notes.some((n) => n.endsWith('prevent-published-male')));
      for (const rc of p.manifest.referenceCases ?? []) {
        const source = byId.get(/prevent\.json (\S+)/.exec(rc.note ?? '')?.[1] ?? '');
        assert.ok(source, rc.note);
        assert.deepEqual(FEATURES.map((f) => rc.inputs[f]), row(source));
        assert.ok(Math.abs(rc.expectedRisk * 100 - source[`expected_10yr_${outcome}_percent`]) < 1e-9);
      }
    }
  });

  test('inputs outside the valid range are scored as given, not clamped', async () => {
    const base = row(vectors.cases[0]!);
    const at = (feature: (typeof FEATURES)[number], value: number) => base.map((v, j) => (FEATURES[j] === feature ? value : v));
    for (const outcome of OUTCOMES) {
      const [sbp200, sbp180, egfr10, egfr15] = await predictBatch(packages.get(outcome)!, [at('systolic_bp', 200), at('systolic_bp', 180), at('egfr', 10), at('egfr', 15)]);
      assert.ok(sbp200! > sbp180!, `${outcome}: SBP 200 (${sbp200}) vs 180 (${sbp180})`);
      assert.ok(egfr10! > egfr15!, `${outcome}: eGFR 10 (${egfr10}) vs 15 (${egfr15})`);
    }
  });

  test('explanations add up: reference risk plus contributions equals the risk, and unused inputs contribute exactly 0', async () => {
    const unused: Record<Outcome, string[]> = { total_cvd: ['bmi'], ascvd: ['bmi'], heart_failure: ['total_cholesterol', 'hdl_cholesterol', 'statin'] };
    const cases = [vectors.cases[0]!, vectors.cases[1]!, ...vectors.cases.filter((c) => c.id.startsWith('prevent-random')).slice(0, 6)];
    for (const [outcome, p] of packages) {
      for (const c of cases) {
        const { risk, explanation } = await explainPrediction(p, row(c));
        const sum = explanation.referenceRisk + explanation.contributions.reduce((s, x) => s + x.contribution, 0);
        assert.ok(Math.abs(sum - risk) < 1e-12, `${outcome} ${c.id}: ${sum} vs ${risk}`);
        assert.ok(Math.abs(risk * 100 - c[`expected_10yr_${outcome}_percent`]) <= 0.001);
        const byFeature = Object.fromEntries(explanation.contributions.map((x) => [x.feature, x.contribution]));
        for (const f of [...unused[outcome], 'age', 'female']) assert.equal(byFeature[f], 0, `${outcome} ${c.id} ${f}`);
      }
    }
  });

  test('the reference patient of the explanation scores as the same person with optimal factors', async () => {
    const c = vectors.cases.find((x) => x.id === 'prevent-published-female')!;
    const optimal = { ...c, total_cholesterol_mg_dl: 170, hdl_mg_dl: 50, systolic_bp_mm_hg: 110, bp_treated: false, statin: false, diabetes: false, smoker: false, egfr_ml_min_1_73m2: 90, bmi_kg_m2: 25 };
    for (const [, p] of packages) {
      const { explanation } = await explainPrediction(p, row(c));
      const [expected] = await predictBatch(p, [row(optimal)]);
      assert.ok(Math.abs(explanation.referenceRisk - expected!) < 1e-15);
    }
  });

  test('what-if scenarios lower the risk: SBP 120 and not smoking for all, total cholesterol 170 for CVD/ASCVD, BMI 25 for HF', async () => {
    const smoker = { ...vectors.cases[0]!, smoker: true };
    for (const [outcome, p] of packages) {
      const { risk, explanation } = await explainPrediction(p, row(smoker));
      const labels = explanation.whatIf.map((w) => w.label);
      const expected = ['Systolic blood pressure at 120 mm Hg', 'Not smoking', outcome === 'heart_failure' ? 'Body mass index at 25 kg/m²' : 'Total cholesterol at 170 mg/dL', 'All of these'];
      assert.deepEqual(labels, expected, outcome);
      for (const w of explanation.whatIf) assert.ok(w.risk < risk, `${outcome} ${w.label}: ${w.risk} vs ${risk}`);
    }
  });

  test('the three packages share one features.json, and the committed files are exactly what build-packages.ts writes', () => {
    const built = buildPreventPackages();
    assert.deepEqual(built.map((b) => b.id), ['prevent-total-cvd', 'prevent-ascvd', 'prevent-hf']);
    const shared = readFileSync(new URL('prevent-build/features.json', MODELS), 'utf8');
    for (const b of built) {
      const dir = dirOf(b.id);
      assert.ok(Buffer.from(b.onnx).equals(readFileSync(join(dir, 'model.onnx'))), `${b.id}/model.onnx differs from a fresh build: run models/prevent-build/build-packages.ts`);
      assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), b.manifest, `${b.id}/manifest.json`);
      assert.equal(readFileSync(join(dir, 'features.json'), 'utf8'), shared, `${b.id}/features.json`);
    }
  });

  test('each graph carries the CSV coefficients of its outcome exactly (female and male columns), and a malformed CSV is refused', () => {
    const rows = readCoefficients();
    assert.equal(rows.length, 6);
    for (const [outcome, p] of packages) {
      const betas = p.graph.graph.initializers.find((t) => t.name === 'betas')!;
      const constants = p.graph.graph.initializers.find((t) => t.name === 'constants')!;
      const female = rows.find((r) => r.sex === 'female' && r.outcome === outcome)!;
      const male = rows.find((r) => r.sex === 'male' && r.outcome === outcome)!;
      assert.deepEqual(constants.values, [female.constant, male.constant]);
      assert.deepEqual(betas.values, Object.keys(female.betas).flatMap((t) => [female.betas[t as keyof typeof female.betas], male.betas[t as keyof typeof male.betas]]));
    }
    assert.equal(rows.find((r) => r.sex === 'female' && r.outcome === 'total_cvd')!.betas.sbp_gte_110, 0.3600781);
    assert.throws(() => readCoefficients('sex,outcome,constant\nfemale,total_cvd,1\n'), /columns/);
  });
});

describe('a PREVENT package that does not match its manifest', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'prevent-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function copyPackage(id: string): string {
    const dir = join(tmp, id);
    mkdirSync(dir);
    for (const f of ['manifest.json', 'features.json', 'model.onnx']) copyFileSync(join(dirOf(id), f), join(dir, f));
    return dir;
  }

  test('is refused when model.onnx is another outcome\'s graph (sha256 mismatch)', async () => {
    const dir = copyPackage('prevent-ascvd');
    copyFileSync(join(dirOf('prevent-hf'), 'model.onnx'), join(dir, 'model.onnx'));
    await assert.rejects(loadModelPackage(dir), (err: unknown) => err instanceof ModelPackageError && /sha256/.test(err.problems[0]!));
  });

  test('is refused when a reference case expects another outcome\'s risk', async () => {
    const dir = copyPackage('prevent-hf');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.referenceCases[0].expectedRisk = vectors.cases[0]!.expected_10yr_total_cvd_percent / 100;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(loadModelPackage(dir), (err: unknown) => err instanceof ModelPackageError && /Reference case 1/.test(err.problems.join(' ')));
  });
});

describe('PREVENT on Synthea patients', () => {
  test('fixture patients: those outside 30-79 or with known CVD are excluded; eligible ones with complete data get a risk, with eGFR and BMI cited from their record', async () => {
    const { features, applicability } = JSON.parse(readFileSync(new URL('prevent-build/features.json', MODELS), 'utf8'));
    const pkg = await loadModelPackage(dirOf('prevent-total-cvd'));
    try {
      let scored = 0;
      let excluded = 0;
      for (const id of fixturePatientIds()) {
        const b = loadBundle(id);
        const rec = { patient: patientOf(b), resources: resourcesOf(b) };
        const now = lastRecordDate(b);
        const inputs = extractInputs(features, rec, now);
        assert.deepEqual(inputs.map((i) => i.feature), [...FEATURES]);
        const applies = checkApplicability(applicability, rec, inputs, now);
        if (!applies.applicable) {
          excluded++;
          continue;
        }
        if (inputs.some((i) => i.value === null)) continue;
        const [risk] = await predictBatch(pkg, [inputs.map((i) => i.value!)]);
        assert.ok(risk! > 0 && risk! < 1, `${id}: ${risk}`);
        for (const i of inputs) if (i.feature === 'egfr' || i.feature === 'bmi') assert.ok(i.sources.length >= 1 && i.effectiveDate, `${id} ${i.feature} has a source`);
        scored++;
      }
      assert.ok(scored >= 5, `scored ${scored}`);
      assert.ok(excluded >= 8, `excluded ${excluded}`);
    } finally {
      await pkg.session.release();
    }
  });

  test('a patient with chronic congestive heart failure on record is excluded', () => {
    const { features, applicability } = JSON.parse(readFileSync(new URL('prevent-build/features.json', MODELS), 'utf8'));
    const id = fixturePatientIds().find((pid) =>
      resourcesOf(loadBundle(pid)).some((r) => r.resourceType === 'Condition' && (r as { code?: { coding?: { code?: string }[] } }).code?.coding?.some((c) => c.code === '88805009')),
    );
    assert.ok(id, 'a fixture patient has SNOMED 88805009');
    const b = loadBundle(id);
    const rec = { patient: patientOf(b), resources: resourcesOf(b) };
    const now = lastRecordDate(b);
    const result = checkApplicability(applicability, rec, extractInputs(features, rec, now), now);
    assert.equal(result.applicable, false);
    assert.ok(!result.applicable && result.reasons.some((r) => r.startsWith('Heart failure on record')), JSON.stringify(result));
  });
});
