/**
 * An independent plain-JavaScript PREVENT base 10-year model (Khan et al., Circulation 2024,
 * supplemental Table S12), from the coefficients CSV in test/fixtures/reference-vectors and the
 * transformations in its README, for checking the service's ONNX graphs end to end.
 */
import { readFileSync } from 'node:fs';

const csv = readFileSync(new URL('../fixtures/reference-vectors/prevent_base_10yr.csv', import.meta.url), 'utf8').trim().split('\n');
const header = csv[0]!.split(',');
const rows = new Map(csv.slice(1).map((line) => {
  const cells = line.split(',');
  return [`${cells[0]}|${cells[1]}`, Object.fromEntries(header.slice(2).map((h, i) => [h, Number(cells[i + 2])]))] as const;
}));

export interface PreventInputs { female: boolean; age: number; tc: number; hdl: number; sbp: number; treated: boolean; statin: boolean; diabetes: boolean; smoker: boolean; egfr: number; bmi: number }

export function preventRisk(outcome: 'total_cvd' | 'ascvd' | 'heart_failure', x: PreventInputs): number {
  const b = rows.get(`${x.female ? 'female' : 'male'}|${outcome}`)!;
  const age = (x.age - 55) / 10;
  const nonHdl = (x.tc - x.hdl) * 0.02586 - 3.5;
  const hdl = (x.hdl * 0.02586 - 1.3) / 0.3;
  const sbpLt = (Math.min(x.sbp, 110) - 110) / 20;
  const sbpGte = (Math.max(x.sbp, 110) - 130) / 20;
  const bmiLt = (Math.min(x.bmi, 30) - 25) / 5;
  const bmiGte = (Math.max(x.bmi, 30) - 30) / 5;
  const egfrLt = (Math.min(x.egfr, 60) - 60) / -15;
  const egfrGte = (Math.max(x.egfr, 60) - 90) / -15;
  const t: Record<string, number> = {
    constant: 1, age, non_hdl_c: nonHdl, hdl_c: hdl, sbp_lt_110: sbpLt, sbp_gte_110: sbpGte, diabetes: +x.diabetes, current_smoking: +x.smoker,
    bmi_lt_30: bmiLt, bmi_gte_30: bmiGte, egfr_lt_60: egfrLt, egfr_gte_60: egfrGte, antihypertensive_use: +x.treated, statin_use: +x.statin,
    treated_sbp_gte_110: +x.treated * sbpGte, treated_non_hdl_c: +x.statin * nonHdl, age_x_non_hdl_c: age * nonHdl, age_x_hdl_c: age * hdl,
    age_x_sbp_gte_110: age * sbpGte, age_x_diabetes: age * +x.diabetes, age_x_current_smoking: age * +x.smoker, age_x_bmi_gte_30: age * bmiGte, age_x_egfr_lt_60: age * egfrLt,
  };
  const z = Object.entries(b).reduce((s, [k, beta]) => s + beta * t[k]!, 0);
  return Math.exp(z) / (1 + Math.exp(z));
}
