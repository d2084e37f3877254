/**
 * An independent, plain-JavaScript Pooled Cohort Equations for checking the service's ONNX model:
 * Goff DC Jr et al., 2013 ACC/AHA Guideline on the Assessment of Cardiovascular Risk, Appendix 7,
 * Table A (coefficients as printed; Mean and S10 as printed).
 */
interface Eq {
  lnAge: number; lnAge2: number; lnTc: number; lnAgeLnTc: number; lnHdl: number; lnAgeLnHdl: number;
  lnSbpT: number; lnAgeLnSbpT: number; lnSbpU: number; lnAgeLnSbpU: number; smoker: number; lnAgeSmoker: number;
  diabetes: number; mean: number; s10: number;
}
const TABLE_A: Record<string, Eq> = {
  'female-white': { lnAge: -29.799, lnAge2: 4.884, lnTc: 13.54, lnAgeLnTc: -3.114, lnHdl: -13.578, lnAgeLnHdl: 3.149, lnSbpT: 2.019, lnAgeLnSbpT: 0, lnSbpU: 1.957, lnAgeLnSbpU: 0, smoker: 7.574, lnAgeSmoker: -1.665, diabetes: 0.661, mean: -29.18, s10: 0.9665 },
  'female-aa': { lnAge: 17.114, lnAge2: 0, lnTc: 0.94, lnAgeLnTc: 0, lnHdl: -18.92, lnAgeLnHdl: 4.475, lnSbpT: 29.291, lnAgeLnSbpT: -6.432, lnSbpU: 27.82, lnAgeLnSbpU: -6.087, smoker: 0.691, lnAgeSmoker: 0, diabetes: 0.874, mean: 86.61, s10: 0.9533 },
  'male-white': { lnAge: 12.344, lnAge2: 0, lnTc: 11.853, lnAgeLnTc: -2.664, lnHdl: -7.99, lnAgeLnHdl: 1.769, lnSbpT: 1.797, lnAgeLnSbpT: 0, lnSbpU: 1.764, lnAgeLnSbpU: 0, smoker: 7.837, lnAgeSmoker: -1.795, diabetes: 0.658, mean: 61.18, s10: 0.9144 },
  'male-aa': { lnAge: 2.469, lnAge2: 0, lnTc: 0.302, lnAgeLnTc: 0, lnHdl: -0.307, lnAgeLnHdl: 0, lnSbpT: 1.916, lnAgeLnSbpT: 0, lnSbpU: 1.809, lnAgeLnSbpU: 0, smoker: 0.549, lnAgeSmoker: 0, diabetes: 0.645, mean: 19.54, s10: 0.8954 },
};

export interface PceInputs { age: number; female: boolean; africanAmerican: boolean; tc: number; hdl: number; sbp: number; treated: boolean; smoker: boolean; diabetes: boolean }

export function pooledCohortRisk(x: PceInputs): number {
  const e = TABLE_A[`${x.female ? 'female' : 'male'}-${x.africanAmerican ? 'aa' : 'white'}`]!;
  const la = Math.log(x.age);
  const lt = Math.log(x.tc);
  const lh = Math.log(x.hdl);
  const ls = Math.log(x.sbp);
  const sum =
    e.lnAge * la + e.lnAge2 * la * la + e.lnTc * lt + e.lnAgeLnTc * la * lt + e.lnHdl * lh + e.lnAgeLnHdl * la * lh +
    (x.treated ? e.lnSbpT * ls + e.lnAgeLnSbpT * la * ls : e.lnSbpU * ls + e.lnAgeLnSbpU * la * ls) +
    (x.smoker ? e.smoker + e.lnAgeSmoker * la : 0) + (x.diabetes ? e.diabetes : 0);
  return 1 - Math.pow(e.s10, Math.exp(sum - e.mean));
}
