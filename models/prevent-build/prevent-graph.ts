/**
 * The AHA PREVENT base 10-year equations as float64 ONNX graphs, one per outcome (total CVD, ASCVD,
 * heart failure), built from the coefficient table prevent_base_10yr.csv beside this file.
 *
 * Source: Khan SS, Matsushita K, Sang Y, et al. Development and Validation of the American Heart
 * Association's Predicting Risk of cardiovascular disease EVENTs (PREVENT) Equations. Circulation.
 * 2024;149(6):430-449, doi:10.1161/CIRCULATIONAHA.123.067626, supplemental Table S12 (base model,
 * 10 years: coefficients and predictor transformations). Logistic link:
 *
 *   x    = constant + sum of beta_k x term_k      (the sex's row for the outcome)
 *   risk = 1 / (1 + exp(-x))
 *
 * Terms (cholesterol in mmol/L = mg/dL x 0.02586, the supplement's factor):
 *   age             (age - 55) / 10
 *   non_hdl_c       (TC - HDL) x 0.02586 - 3.5
 *   hdl_c           (HDL x 0.02586 - 1.3) / 0.3
 *   sbp_lt_110      (min(SBP, 110) - 110) / 20        sbp_gte_110  (max(SBP, 110) - 130) / 20
 *   bmi_lt_30       (min(BMI, 30) - 25) / 5           bmi_gte_30   (max(BMI, 30) - 30) / 5
 *   egfr_lt_60      (min(eGFR, 60) - 60) / -15        egfr_gte_60  (max(eGFR, 60) - 90) / -15
 *   diabetes, current_smoking, antihypertensive_use, statin_use   0/1
 *   treated_sbp_gte_110 = antihypertensive_use x sbp_gte_110; treated_non_hdl_c = statin_use x non_hdl_c;
 *   age_x_<t> = age term x <t> for non_hdl_c, hdl_c, sbp_gte_110, diabetes, current_smoking,
 *   bmi_gte_30, egfr_lt_60.
 *
 * Graph input "features" float64 [N, 11]: age (years), female (0/1), total_cholesterol (mg/dL),
 * hdl_cholesterol (mg/dL), systolic_bp (mm Hg), bp_treated, statin, diabetes, smoker (0/1), egfr
 * (mL/min/1.73 m2), bmi (kg/m2); output "risk" float64 [N, 1]. Both sexes' equations are evaluated
 * with one MatMul over the 22 terms; the female indicator then picks one. Inputs are not clamped:
 * range checks belong to the feature stage, which flags out-of-range values.
 */
import { readFileSync } from 'node:fs';
import { encodeModel, type ModelInit, type NodeInit, type TensorInit } from '../../src/models/onnx-schema.ts';

export const OUTCOMES = ['total_cvd', 'ascvd', 'heart_failure'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Input columns of every PREVENT graph, in order (the feature ids of the packages). */
export const FEATURES = [
  'age',
  'female',
  'total_cholesterol',
  'hdl_cholesterol',
  'systolic_bp',
  'bp_treated',
  'statin',
  'diabetes',
  'smoker',
  'egfr',
  'bmi',
] as const;

/** The CSV's term columns after "constant", in the order the graph builds the terms. */
export const TERMS = [
  'age',
  'non_hdl_c',
  'hdl_c',
  'sbp_lt_110',
  'sbp_gte_110',
  'diabetes',
  'current_smoking',
  'bmi_lt_30',
  'bmi_gte_30',
  'egfr_lt_60',
  'egfr_gte_60',
  'antihypertensive_use',
  'statin_use',
  'treated_sbp_gte_110',
  'treated_non_hdl_c',
  'age_x_non_hdl_c',
  'age_x_hdl_c',
  'age_x_sbp_gte_110',
  'age_x_diabetes',
  'age_x_current_smoking',
  'age_x_bmi_gte_30',
  'age_x_egfr_lt_60',
] as const;

/** mg/dL -> mmol/L for cholesterol, as in the PREVENT supplement's formulas. */
export const CHOLESTEROL_MMOL_PER_MG_DL = 0.02586;

export interface CoefficientRow {
  sex: 'female' | 'male';
  outcome: Outcome;
  constant: number;
  betas: Record<(typeof TERMS)[number], number>;
}

const CSV_URL = new URL('./prevent_base_10yr.csv', import.meta.url);

/** The coefficient rows of prevent_base_10yr.csv; throws if a column or row is missing or not a number. */
export function readCoefficients(csv: string = readFileSync(CSV_URL, 'utf8')): CoefficientRow[] {
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const columns = header!.split(',');
  const expected = ['sex', 'outcome', 'constant', ...TERMS];
  if (columns.join(',') !== expected.join(',')) throw new Error(`prevent_base_10yr.csv has columns ${columns.join(',')}; expected ${expected.join(',')}.`);
  const rows = lines.map((line, i): CoefficientRow => {
    const cells = line.split(',');
    const num = (j: number) => {
      const v = Number(cells[j]);
      if (cells[j] === undefined || cells[j] === '' || !Number.isFinite(v)) throw new Error(`prevent_base_10yr.csv line ${i + 2}, column ${columns[j]}: "${cells[j]}" is not a number.`);
      return v;
    };
    return {
      sex: cells[0] as CoefficientRow['sex'],
      outcome: cells[1] as Outcome,
      constant: num(2),
      betas: Object.fromEntries(TERMS.map((t, k) => [t, num(3 + k)])) as CoefficientRow['betas'],
    };
  });
  for (const sex of ['female', 'male'] as const) {
    for (const outcome of OUTCOMES) {
      if (rows.filter((r) => r.sex === sex && r.outcome === outcome).length !== 1) throw new Error(`prevent_base_10yr.csv needs exactly one row for ${sex} ${outcome}.`);
    }
  }
  return rows;
}

function coefficientRow(rows: CoefficientRow[], sex: 'female' | 'male', outcome: Outcome): CoefficientRow {
  return rows.find((r) => r.sex === sex && r.outcome === outcome)!;
}

const col = (id: (typeof FEATURES)[number]) => FEATURES.indexOf(id);

/**
 * The linear stage: the 13 first-order terms as one affine map of the inputs and the spline
 * pieces. Its input is [features (11) | min(SBP,110), min(eGFR,60), min(BMI,30) | max(...) same order].
 */
function linearStage(): { weights: number[]; bias: number[]; width: number } {
  const inputs = FEATURES.length + 6;
  const MIN_SBP = FEATURES.length;
  const MIN_EGFR = MIN_SBP + 1;
  const MIN_BMI = MIN_SBP + 2;
  const MAX_SBP = MIN_SBP + 3;
  const MAX_EGFR = MIN_SBP + 4;
  const MAX_BMI = MIN_SBP + 5;
  const first = TERMS.slice(0, 13);
  const w: number[][] = Array.from({ length: inputs }, () => new Array<number>(first.length).fill(0));
  const b = new Array<number>(first.length).fill(0);
  const set = (term: (typeof TERMS)[number], input: number, weight: number, bias = 0) => {
    const k = first.indexOf(term as (typeof first)[number]);
    w[input]![k] = weight;
    b[k] = bias;
  };
  const c = CHOLESTEROL_MMOL_PER_MG_DL;
  set('age', col('age'), 1 / 10, -55 / 10);
  set('non_hdl_c', col('total_cholesterol'), c, -3.5);
  set('non_hdl_c', col('hdl_cholesterol'), -c, -3.5);
  set('hdl_c', col('hdl_cholesterol'), c / 0.3, -1.3 / 0.3);
  set('sbp_lt_110', MIN_SBP, 1 / 20, -110 / 20);
  set('sbp_gte_110', MAX_SBP, 1 / 20, -130 / 20);
  set('diabetes', col('diabetes'), 1);
  set('current_smoking', col('smoker'), 1);
  set('bmi_lt_30', MIN_BMI, 1 / 5, -25 / 5);
  set('bmi_gte_30', MAX_BMI, 1 / 5, -30 / 5);
  set('egfr_lt_60', MIN_EGFR, -1 / 15, 60 / 15);
  set('egfr_gte_60', MAX_EGFR, -1 / 15, 90 / 15);
  set('antihypertensive_use', col('bp_treated'), 1);
  set('statin_use', col('statin'), 1);
  return { weights: w.flat(), bias: b, width: first.length };
}

/** The interaction terms, in TERMS order, as (left, right) positions among the first 13 terms. */
const INTERACTIONS: [(typeof TERMS)[number], (typeof TERMS)[number]][] = [
  ['antihypertensive_use', 'sbp_gte_110'],
  ['statin_use', 'non_hdl_c'],
  ['age', 'non_hdl_c'],
  ['age', 'hdl_c'],
  ['age', 'sbp_gte_110'],
  ['age', 'diabetes'],
  ['age', 'current_smoking'],
  ['age', 'bmi_gte_30'],
  ['age', 'egfr_lt_60'],
];

export function preventModel(outcome: Outcome, rows: CoefficientRow[] = readCoefficients()): ModelInit {
  const female = coefficientRow(rows, 'female', outcome);
  const male = coefficientRow(rows, 'male', outcome);
  const lin = linearStage();
  const term = (t: (typeof TERMS)[number]) => TERMS.indexOf(t);
  const d = (name: string, dims: number[], values: number[]): TensorInit => ({ name, dataType: 'float64', dims, values });
  const i64 = (name: string, values: number[]): TensorInit => ({ name, dataType: 'int64', dims: [values.length], values });

  const nodes: NodeInit[] = [
    // spline pieces: min and max of SBP, eGFR, BMI at their knots 110, 60, 30
    { opType: 'Gather', inputs: ['features', 'idx_spline'], outputs: ['spline_inputs'], attributes: { axis: 1 } },
    { opType: 'Min', inputs: ['spline_inputs', 'knots'], outputs: ['below_knot'] },
    { opType: 'Max', inputs: ['spline_inputs', 'knots'], outputs: ['above_knot'] },
    { opType: 'Concat', inputs: ['features', 'below_knot', 'above_knot'], outputs: ['expanded'], attributes: { axis: 1 } },
    // first-order terms [N, 13]
    { opType: 'MatMul', inputs: ['expanded', 'linear_weights'], outputs: ['linear'] },
    { opType: 'Add', inputs: ['linear', 'linear_bias'], outputs: ['first_terms'] },
    // interactions [N, 9]
    { opType: 'Gather', inputs: ['first_terms', 'idx_left'], outputs: ['left'], attributes: { axis: 1 } },
    { opType: 'Gather', inputs: ['first_terms', 'idx_right'], outputs: ['right'], attributes: { axis: 1 } },
    { opType: 'Mul', inputs: ['left', 'right'], outputs: ['interactions'] },
    { opType: 'Concat', inputs: ['first_terms', 'interactions'], outputs: ['terms'], attributes: { axis: 1 } },
    // x for both sexes [N, 2] (female, male), then the patient's sex picks one
    { opType: 'MatMul', inputs: ['terms', 'betas'], outputs: ['sums'] },
    { opType: 'Add', inputs: ['sums', 'constants'], outputs: ['logits'] },
    { opType: 'Gather', inputs: ['features', 'idx_female'], outputs: ['is_female'], attributes: { axis: 1 } },
    { opType: 'Sub', inputs: ['one', 'is_female'], outputs: ['is_male'] },
    { opType: 'Concat', inputs: ['is_female', 'is_male'], outputs: ['sex_mask'], attributes: { axis: 1 } },
    { opType: 'Mul', inputs: ['logits', 'sex_mask'], outputs: ['logits_masked'] },
    { opType: 'MatMul', inputs: ['logits_masked', 'ones'], outputs: ['logit'] },
    // logistic link
    { opType: 'Neg', inputs: ['logit'], outputs: ['neg_logit'] },
    { opType: 'Exp', inputs: ['neg_logit'], outputs: ['odds_against'] },
    { opType: 'Add', inputs: ['one', 'odds_against'], outputs: ['denominator'] },
    { opType: 'Div', inputs: ['one', 'denominator'], outputs: ['risk'] },
  ];

  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'riskcards',
    producerVersion: '1',
    docString: `AHA PREVENT base model, 10-year ${outcome.replace('_', ' ')} risk, Khan et al. 2024, supplemental Table S12.`,
    graph: {
      name: `prevent_${outcome}`,
      nodes,
      initializers: [
        i64('idx_spline', [col('systolic_bp'), col('egfr'), col('bmi')]),
        d('knots', [3], [110, 60, 30]),
        d('linear_weights', [FEATURES.length + 6, lin.width], lin.weights),
        d('linear_bias', [lin.width], lin.bias),
        i64('idx_left', INTERACTIONS.map(([l]) => term(l))),
        i64('idx_right', INTERACTIONS.map(([, r]) => term(r))),
        d('betas', [TERMS.length, 2], TERMS.flatMap((t) => [female.betas[t], male.betas[t]])),
        d('constants', [2], [female.constant, male.constant]),
        i64('idx_female', [col('female')]),
        d('one', [], [1]),
        d('ones', [2, 1], [1, 1]),
      ],
      inputs: [{ name: 'features', elemType: 'float64', shape: ['N', FEATURES.length] }],
      outputs: [{ name: 'risk', elemType: 'float64', shape: ['N', 1] }],
    },
  };
}

export function buildPreventOnnx(outcome: Outcome): Uint8Array {
  return encodeModel(preventModel(outcome));
}
