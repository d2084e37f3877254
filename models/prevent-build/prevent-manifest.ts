/**
 * The manifests of the three PREVENT packages (prevent-total-cvd, prevent-ascvd, prevent-hf): one
 * source for what they share (categories, reference patient, model card) and what differs by outcome.
 *
 * Explanation reference patient: the same age and sex (they cannot change, and age dominates every
 * PREVENT equation), with total cholesterol 170 mg/dL, HDL 50 mg/dL, untreated systolic BP 110 mm Hg,
 * no statin, no diabetes, non-smoker: the "optimal risk factors" of the ACC/AHA ASCVD Risk Estimator
 * Plus, so that PREVENT and Pooled Cohort cards measure contributions from the same person; plus
 * eGFR 90 mL/min/1.73 m2 and BMI 25 kg/m2, the values at which PREVENT's eGFR and BMI terms are zero
 * (Khan 2024, Table S12 centring), i.e. normal kidney function and the upper end of normal weight.
 * SBP 110 is also the knot of PREVENT's SBP spline. Contributions then say how much each modifiable
 * factor adds over that person; features an equation does not use (BMI for total CVD and ASCVD;
 * cholesterol and statin for HF) get exactly 0.
 *
 * No "start a statin" or "start antihypertensives" scenario: PREVENT's treatment terms describe people
 * already treated (treatment marks higher underlying risk); they do not estimate a treatment effect.
 */
import type { ModelManifest } from '../../src/models/manifest.ts';
import type { FEATURES, Outcome } from './prevent-graph.ts';

export type PackageId = 'prevent-total-cvd' | 'prevent-ascvd' | 'prevent-hf';

export const PACKAGES: { id: PackageId; outcome: Outcome }[] = [
  { id: 'prevent-total-cvd', outcome: 'total_cvd' },
  { id: 'prevent-ascvd', outcome: 'ascvd' },
  { id: 'prevent-hf', outcome: 'heart_failure' },
];

export interface ReferenceVector {
  id: string;
  sex: 'female' | 'male';
  age: number;
  total_cholesterol_mg_dl: number;
  hdl_mg_dl: number;
  systolic_bp_mm_hg: number;
  bp_treated: boolean;
  statin: boolean;
  diabetes: boolean;
  smoker: boolean;
  egfr_ml_min_1_73m2: number;
  bmi_kg_m2: number;
  expected_10yr_total_cvd_percent: number;
  expected_10yr_ascvd_percent: number;
  expected_10yr_heart_failure_percent: number;
}

type FeatureId = (typeof FEATURES)[number];

/** A reference vector as model inputs by feature id. */
export function vectorInputs(c: ReferenceVector): Record<FeatureId, number> {
  return {
    age: c.age,
    female: c.sex === 'female' ? 1 : 0,
    total_cholesterol: c.total_cholesterol_mg_dl,
    hdl_cholesterol: c.hdl_mg_dl,
    systolic_bp: c.systolic_bp_mm_hg,
    bp_treated: c.bp_treated ? 1 : 0,
    statin: c.statin ? 1 : 0,
    diabetes: c.diabetes ? 1 : 0,
    smoker: c.smoker ? 1 : 0,
    egfr: c.egfr_ml_min_1_73m2,
    bmi: c.bmi_kg_m2,
  };
}

const OUTCOME_TEXT: Record<Outcome, { name: string; outcome: string; riskLabel: string; definition: string }> = {
  total_cvd: {
    name: 'AHA PREVENT equations (base model): total cardiovascular disease',
    outcome: '10-year risk of a first cardiovascular disease event (atherosclerotic cardiovascular disease or heart failure)',
    riskLabel: '10-year total CVD risk (PREVENT)',
    definition: 'total cardiovascular disease: the first of an ASCVD event (myocardial infarction, coronary heart disease death, stroke) or heart failure',
  },
  ascvd: {
    name: 'AHA PREVENT equations (base model): atherosclerotic cardiovascular disease',
    outcome: '10-year risk of a first atherosclerotic cardiovascular disease event (myocardial infarction, coronary heart disease death, fatal or nonfatal stroke)',
    riskLabel: '10-year ASCVD risk (PREVENT)',
    definition: 'atherosclerotic cardiovascular disease: myocardial infarction, coronary heart disease death, fatal or nonfatal stroke',
  },
  heart_failure: {
    name: 'AHA PREVENT equations (base model): heart failure',
    outcome: '10-year risk of incident heart failure',
    riskLabel: '10-year heart failure risk (PREVENT)',
    definition: 'incident heart failure',
  },
};

const REFERENCE: ModelManifest['explanation']['reference'] = {
  age: 'patient',
  female: 'patient',
  total_cholesterol: 170,
  hdl_cholesterol: 50,
  systolic_bp: 110,
  bp_treated: 0,
  statin: 0,
  diabetes: 0,
  smoker: 0,
  egfr: 90,
  bmi: 25,
};

const REFERENCE_DESCRIPTION =
  'a person of the same age and sex with optimal risk factors (total cholesterol 170 mg/dL, HDL cholesterol 50 mg/dL, untreated systolic blood pressure 110 mm Hg, no statin, no diabetes, non-smoker, as in the ACC/AHA ASCVD Risk Estimator Plus) and the values at which PREVENT\'s kidney and weight terms are zero (eGFR 90 mL/min/1.73 m², BMI 25 kg/m²)';

function whatIf(outcome: Outcome): ModelManifest['explanation']['whatIf'] {
  const sbp = { label: 'Systolic blood pressure at 120 mm Hg', set: { systolic_bp: 120 }, when: { feature: 'systolic_bp', op: '>' as const, value: 120 } };
  const smoking = { label: 'Not smoking', set: { smoker: 0 }, when: { feature: 'smoker', op: '==' as const, value: 1 } };
  const all = { label: 'All of these', set: {}, combine: 'applicable' as const };
  if (outcome === 'heart_failure') {
    // Below 30 kg/m2 PREVENT's HF BMI term is nearly flat (and slightly negative), so a lower BMI
    // is offered only above the knot, where the equation says it matters.
    return [sbp, smoking, { label: 'Body mass index at 25 kg/m²', set: { bmi: 25 }, when: { feature: 'bmi', op: '>', value: 30 } }, all];
  }
  return [sbp, smoking, { label: 'Total cholesterol at 170 mg/dL', set: { total_cholesterol: 170 }, when: { feature: 'total_cholesterol', op: '>', value: 170 } }, all];
}

/**
 * 2019 ACC/AHA primary-prevention categories of 10-year risk (Arnett DK, Blumenthal RS, Albert MA,
 * et al. Circulation. 2019;140(11):e596-e646, doi:10.1161/CIR.0000000000000678, section 2.2; also
 * Grundy 2018 cholesterol guideline): low <5 %, borderline 5-<7.5 %, intermediate 7.5-<20 %, high >=20 %.
 */
const CATEGORIES: ModelManifest['categories'] = [
  { code: 'low', label: 'Low risk (<5%)', below: 0.05, indicator: 'info' },
  { code: 'borderline', label: 'Borderline risk (5% to <7.5%)', below: 0.075, indicator: 'info' },
  { code: 'intermediate', label: 'Intermediate risk (7.5% to <20%)', below: 0.2, indicator: 'warning' },
  { code: 'high', label: 'High risk (20% or more)', indicator: 'critical' },
];

const REFERENCES = [
  "Khan SS, Matsushita K, Sang Y, et al. Development and Validation of the American Heart Association's Predicting Risk of cardiovascular disease EVENTs (PREVENT) Equations. Circulation. 2024;149(6):430-449. doi:10.1161/CIRCULATIONAHA.123.067626 (supplemental Table S12: base-model coefficients; Table S25: worked example).",
  'Khan SS, Coresh J, Pencina MJ, et al. Novel Prediction Equations for Absolute Risk Assessment of Total Cardiovascular Disease Incorporating Cardiovascular-Kidney-Metabolic Health: A Scientific Statement From the American Heart Association. Circulation. 2023;148(24):1982-2004. doi:10.1161/CIR.0000000000001191.',
  'Inker LA, Eneanya ND, Coresh J, et al. New Creatinine- and Cystatin C-Based Equations to Estimate GFR without Race. N Engl J Med. 2021;385(19):1737-1749. doi:10.1056/NEJMoa2102953 (eGFR computed from creatinine).',
  'Arnett DK, Blumenthal RS, Albert MA, et al. 2019 ACC/AHA Guideline on the Primary Prevention of Cardiovascular Disease. Circulation. 2019;140(11):e596-e646. doi:10.1161/CIR.0000000000000678 (risk categories).',
  'Anderson TS, Wilson LM, Sussman JB. Atherosclerotic Cardiovascular Disease Risk Estimates Using the Predicting Risk of Cardiovascular Disease Events Equations. JAMA Intern Med. 2024;184(8):963-970 (PREVENT compared with the Pooled Cohort Equations; cited from memory).',
  'AHA PREVENT calculator: https://professional.heart.org/en/guidelines-and-statements/prevent-calculator',
];

function modelCard(outcome: Outcome): ModelManifest['modelCard'] {
  const t = OUTCOME_TEXT[outcome];
  const hfNote =
    outcome === 'heart_failure'
      ? ['The heart failure equation uses BMI and no cholesterol or statin terms; the service still reads cholesterol and statin use because the three PREVENT packages share one feature file, so a missing lipid panel also withholds this estimate.']
      : ['The total CVD and ASCVD equations do not use BMI; the service still reads it because the three PREVENT packages share one feature file, so a missing BMI also withholds this estimate.'];
  return {
    intendedUse: `Estimate the 10-year risk of ${t.definition} in adults aged 30-79 without known cardiovascular disease, to inform a clinician-patient discussion about primary prevention (blood pressure, cholesterol, smoking, weight, kidney and metabolic health), as proposed in the AHA scientific statement on cardiovascular-kidney-metabolic health (Khan et al. 2023). Shown beside the other two PREVENT outcomes. It supports, and does not replace, clinical judgement.`,
    population:
      "Sex-specific, race-free equations derived in about 3.3 million adults aged 30-79 without cardiovascular disease from 25 US data sets (cohort studies and health-system electronic health records, assembled with the Chronic Kidney Disease Prognosis Consortium) and validated externally in about 3.3 million adults from 21 further data sets, 6.6 million in all, baseline years 1992-2017 (Khan et al. 2024; counts quoted from memory of the paper, check before citing).",
    exclusions: [
      'Known cardiovascular disease: prior ASCVD (myocardial infarction, coronary revascularisation, stroke or transient ischaemic attack, peripheral arterial disease) or heart failure; the equations are for primary prevention.',
      'Age below 30 or above 79 years.',
      'Sex not recorded as female or male (the equations are sex-specific).',
      'Total cholesterol outside 130-320 mg/dL, HDL outside 20-100 mg/dL, systolic blood pressure outside 90-180 mm Hg, eGFR outside 15-140 mL/min/1.73 m² or BMI outside 18.5-39.9 kg/m²: outside the ranges of the published calculator (the service uses such values as recorded and flags them).',
    ],
    performance: {
      source: 'Khan et al. 2024, external validation; figures quoted from memory of the abstract, not re-extracted from the paper: verify before quoting.',
      discrimination: 'Total CVD, median C statistic 0.794 (IQR 0.763-0.809) in women and 0.757 (0.727-0.778) in men across the external validation data sets; the paper reports similar C statistics for ASCVD and higher ones for heart failure.',
      calibration: 'Total CVD, median calibration slope 1.03 (IQR 0.81-1.16) in women and 0.94 (0.81-1.13) in men; observed and predicted risks agreed closely across deciles of predicted risk.',
      comparedWithPooledCohortEquations: 'In the same people PREVENT gives markedly lower 10-year ASCVD estimates than the Pooled Cohort Equations, on average about half (Anderson et al. 2024; from memory).',
    },
    limitations: [
      'Risk categories are the 2019 ACC/AHA primary-prevention categories of 10-year ASCVD risk, set for the Pooled Cohort Equations (Arnett et al. 2019). PREVENT estimates are lower on average, so the same thresholds put fewer people in the intermediate and high categories; no guideline has set PREVENT-specific treatment thresholds, and none exist for total CVD or heart failure. The categories are shown for orientation.',
      'Base model only: the optional PREVENT predictors (urine albumin-to-creatinine ratio, HbA1c, social deprivation index) are not used, so risk carried by albuminuria, glycaemic control or social deprivation is not captured.',
      'eGFR from the record may come from an older equation (MDRD or CKD-EPI 2009), which differs from the race-free CKD-EPI 2021 eGFR the equations were developed with; eGFR computed by the service from creatinine uses CKD-EPI 2021, and the card says which was used.',
      'Statin and antihypertensive use describe people already treated (treatment marks a higher underlying risk); the equations do not estimate the benefit of starting treatment.',
      'Developed and validated in US data; calibration in other countries and in groups under-represented in the source data is not established.',
      'Values outside the validated ranges are used as given and flagged, never clamped.',
      ...hfNote,
    ],
    references: REFERENCES,
  };
}

export function preventManifest(outcome: Outcome, sha256: string, vectors: ReferenceVector[]): Omit<ModelManifest, 'features' | 'applicability'> {
  const pkg = PACKAGES.find((p) => p.outcome === outcome)!;
  const t = OUTCOME_TEXT[outcome];
  const expected = `expected_10yr_${outcome}_percent` as const;
  return {
    id: pkg.id,
    version: '1.0.0',
    name: t.name,
    outcome: t.outcome,
    horizonYears: 10,
    riskLabel: t.riskLabel,
    onnx: { file: 'model.onnx', sha256 },
    input: { name: 'features', type: 'float64' },
    output: { name: 'risk' },
    categories: CATEGORIES,
    explanation: { method: 'exact-shapley', reference: REFERENCE, referenceDescription: REFERENCE_DESCRIPTION, whatIf: whatIf(outcome) },
    modelCard: modelCard(outcome),
    referenceCases: vectors.map((c) => ({
      inputs: vectorInputs(c),
      expectedRisk: Number((c[expected] / 100).toFixed(6)),
      tolerance: 0.00001,
      note: `reference-vectors prevent.json ${c.id}`,
    })),
  };
}
