/**
 * Builds models/pce-ascvd/model.onnx: the ACC/AHA Pooled Cohort Equations as a float64 ONNX graph,
 * and records its sha256 in manifest.json beside it.
 *
 *   node --import tsx models/pce-ascvd/build-onnx.ts
 *
 * Source: Goff DC Jr, Lloyd-Jones DM, Bennett G, et al. 2013 ACC/AHA Guideline on the Assessment of
 * Cardiovascular Risk. Circulation. 2014;129(25 Suppl 2):S49-S73, doi:10.1161/01.cir.0000437741.48606.98,
 * Appendix 7, Table A, constants exactly as printed (not the extended-precision set some
 * implementations use):
 *
 *   IndividualSum = sum of coefficient x term
 *   risk          = 1 - S10 ^ exp(IndividualSum - Mean)
 *
 * Graph: input "features" float64 [N, 9] =
 *   age, female, african_american, total_cholesterol, hdl_cholesterol, systolic_bp, bp_treated, smoker, diabetes
 * output "risk" float64 [N, 1]. All four equations are evaluated with one MatMul over a 14-term
 * matrix; the sex/race indicators then pick one centred sum and one S10 per row. Inputs are not
 * clamped: range checks belong to the feature stage, which flags out-of-range values.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeModel, type ModelInit } from '../../src/models/onnx-schema.ts';

/** Equation columns, in the order of every per-equation constant below. */
export const EQUATIONS = ['white-female', 'african-american-female', 'white-male', 'african-american-male'] as const;

/**
 * Term rows of the coefficient matrix. U = [ln age, ln TC, ln HDL, ln SBP treated, ln SBP untreated,
 * smoker, diabetes]; the terms are U followed by ln age x U. Table A columns: white women,
 * African-American women, white men, African-American men.
 */
export const TERMS: { term: string; coefficients: [number, number, number, number] }[] = [
  { term: 'ln age', coefficients: [-29.799, 17.114, 12.344, 2.469] },
  { term: 'ln TC', coefficients: [13.54, 0.94, 11.853, 0.302] },
  { term: 'ln HDL', coefficients: [-13.578, -18.92, -7.99, -0.307] },
  { term: 'ln SBP treated', coefficients: [2.019, 29.291, 1.797, 1.916] },
  { term: 'ln SBP untreated', coefficients: [1.957, 27.82, 1.764, 1.809] },
  { term: 'current smoker', coefficients: [7.574, 0.691, 7.837, 0.549] },
  { term: 'diabetes', coefficients: [0.661, 0.874, 0.658, 0.645] },
  { term: '(ln age)^2', coefficients: [4.884, 0, 0, 0] },
  { term: 'ln age x ln TC', coefficients: [-3.114, 0, -2.664, 0] },
  { term: 'ln age x ln HDL', coefficients: [3.149, 4.475, 1.769, 0] },
  { term: 'ln age x ln SBP treated', coefficients: [0, -6.432, 0, 0] },
  { term: 'ln age x ln SBP untreated', coefficients: [0, -6.087, 0, 0] },
  { term: 'ln age x current smoker', coefficients: [-1.665, 0, -1.795, 0] },
  { term: 'ln age x diabetes', coefficients: [0, 0, 0, 0] },
];

/** Table A, "Mean (coefficient x value)" row. */
export const MEANS = [-29.18, 86.61, 61.18, 19.54];
/** Table A, "Baseline survival" (S10) row. */
export const S10 = [0.9665, 0.9533, 0.9144, 0.8954];

export const FEATURE_COUNT = 9;

export function pceModel(): ModelInit {
  const d = (name: string, dims: number[], values: number[]) => ({ name, dataType: 'float64' as const, dims, values });
  const i64 = (name: string, values: number[]) => ({ name, dataType: 'int64' as const, dims: [values.length], values });
  const nodes: ModelInit['graph']['nodes'] = [
    // ln of the continuous inputs: age, TC, HDL, SBP -> lg [N, 4]
    { opType: 'Gather', inputs: ['features', 'idx_continuous'], outputs: ['continuous'], attributes: { axis: 1 } },
    { opType: 'Log', inputs: ['continuous'], outputs: ['lg'] },
    { opType: 'Gather', inputs: ['lg', 'idx_0'], outputs: ['ln_age'], attributes: { axis: 1 } },
    { opType: 'Gather', inputs: ['lg', 'idx_3'], outputs: ['ln_sbp'], attributes: { axis: 1 } },
    { opType: 'Gather', inputs: ['lg', 'idx_012'], outputs: ['ln_age_tc_hdl'], attributes: { axis: 1 } },
    // ln SBP goes into the treated or the untreated pair of terms
    { opType: 'Gather', inputs: ['features', 'idx_treated'], outputs: ['treated'], attributes: { axis: 1 } },
    { opType: 'Sub', inputs: ['one', 'treated'], outputs: ['untreated'] },
    { opType: 'Concat', inputs: ['treated', 'untreated'], outputs: ['treatment'], attributes: { axis: 1 } },
    { opType: 'Mul', inputs: ['ln_sbp', 'treatment'], outputs: ['ln_sbp_split'] },
    { opType: 'Gather', inputs: ['features', 'idx_flags'], outputs: ['flags'], attributes: { axis: 1 } },
    { opType: 'Concat', inputs: ['ln_age_tc_hdl', 'ln_sbp_split', 'flags'], outputs: ['u'], attributes: { axis: 1 } },
    { opType: 'Mul', inputs: ['u', 'ln_age'], outputs: ['u_by_ln_age'] },
    { opType: 'Concat', inputs: ['u', 'u_by_ln_age'], outputs: ['terms'], attributes: { axis: 1 } },
    // IndividualSum - Mean for all four equations: [N, 4]
    { opType: 'MatMul', inputs: ['terms', 'coefficients'], outputs: ['sums'] },
    { opType: 'Sub', inputs: ['sums', 'means'], outputs: ['centred'] },
    // equation mask = sex part [f, f, 1-f, 1-f] x race part [1-a, a, 1-a, a]
    { opType: 'MatMul', inputs: ['features', 'sex_weights'], outputs: ['sex_linear'] },
    { opType: 'Add', inputs: ['sex_linear', 'sex_offsets'], outputs: ['sex_part'] },
    { opType: 'MatMul', inputs: ['features', 'race_weights'], outputs: ['race_linear'] },
    { opType: 'Add', inputs: ['race_linear', 'race_offsets'], outputs: ['race_part'] },
    { opType: 'Mul', inputs: ['sex_part', 'race_part'], outputs: ['mask'] },
    { opType: 'Mul', inputs: ['centred', 'mask'], outputs: ['centred_masked'] },
    { opType: 'MatMul', inputs: ['centred_masked', 'ones'], outputs: ['centred_selected'] },
    { opType: 'MatMul', inputs: ['mask', 's10'], outputs: ['s10_selected'] },
    { opType: 'Exp', inputs: ['centred_selected'], outputs: ['exponent'] },
    { opType: 'Pow', inputs: ['s10_selected', 'exponent'], outputs: ['survival'] },
    { opType: 'Sub', inputs: ['one', 'survival'], outputs: ['risk'] },
  ];

  const sexWeights = new Array<number>(FEATURE_COUNT * 4).fill(0);
  sexWeights.splice(1 * 4, 4, 1, 1, -1, -1);
  const raceWeights = new Array<number>(FEATURE_COUNT * 4).fill(0);
  raceWeights.splice(2 * 4, 4, -1, 1, -1, 1);

  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'riskcards',
    producerVersion: '1',
    docString: 'ACC/AHA Pooled Cohort Equations, Goff et al. 2013, Appendix 7 Table A (10-year hard ASCVD risk).',
    graph: {
      name: 'pce_ascvd',
      nodes,
      initializers: [
        i64('idx_continuous', [0, 3, 4, 5]),
        i64('idx_0', [0]),
        i64('idx_3', [3]),
        i64('idx_012', [0, 1, 2]),
        i64('idx_treated', [6]),
        i64('idx_flags', [7, 8]),
        d('one', [], [1]),
        d('coefficients', [TERMS.length, 4], TERMS.flatMap((t) => t.coefficients)),
        d('means', [4], MEANS),
        d('sex_weights', [FEATURE_COUNT, 4], sexWeights),
        d('sex_offsets', [4], [0, 0, 1, 1]),
        d('race_weights', [FEATURE_COUNT, 4], raceWeights),
        d('race_offsets', [4], [1, 0, 1, 0]),
        d('ones', [4, 1], [1, 1, 1, 1]),
        d('s10', [4, 1], S10),
      ],
      inputs: [{ name: 'features', elemType: 'float64', shape: ['N', FEATURE_COUNT] }],
      outputs: [{ name: 'risk', elemType: 'float64', shape: ['N', 1] }],
    },
  };
}

export function buildPceOnnx(): Uint8Array {
  return encodeModel(pceModel());
}

function main(): void {
  const dir = new URL('./', import.meta.url);
  const bytes = buildPceOnnx();
  const manifestUrl = new URL('manifest.json', dir);
  const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as { onnx: { file: string; sha256: string } };
  writeFileSync(new URL(manifest.onnx.file, dir), bytes);
  manifest.onnx.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(manifestUrl, JSON.stringify(manifest, null, 2) + '\n');
  process.stdout.write(`wrote ${manifest.onnx.file} (${bytes.length} bytes, sha256 ${manifest.onnx.sha256})\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
