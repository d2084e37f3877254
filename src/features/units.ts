/**
 * Unit conversion to a feature's canonical UCUM unit with @lhncbc/ucum-lhc, including mass <->
 * substance conversions that need a molar mass (cholesterol: 386.65 g/mol). A conversion factor is
 * computed once per (from, to, molar mass) and reused: every unit the service meets is linear.
 */
import * as ucum from '@lhncbc/ucum-lhc';

interface UcumUtils {
  convertUnitTo(from: string, value: number, to: string, options?: { molecularWeight?: number }): { status: string; toVal?: number };
  validateUnitString(unit: string): { status: string };
}
type UcumModule = { UcumLhcUtils: { getInstance(): UcumUtils } };
// A CommonJS package: Node's ESM loader exposes its exports by name, CommonJS loaders (tsx outside a
// "type": "module" package) only under `default`.
const utils = ((ucum as unknown as UcumModule).UcumLhcUtils ?? (ucum as unknown as { default: UcumModule }).default.UcumLhcUtils).getInstance();

/** Units as records often write them, mapped to UCUM codes. */
const ALIASES: Record<string, string> = { mmHg: 'mm[Hg]', 'mm Hg': 'mm[Hg]', 'kg/m^2': 'kg/m2', 'kg/m²': 'kg/m2', 'mg/dl': 'mg/dL', 'mmol/l': 'mmol/L', years: 'a', yr: 'a' };

const factors = new Map<string, number | null>();

export function normaliseUnit(unit: string): string {
  return ALIASES[unit] ?? unit;
}

/** The value in `to`, or undefined when the units cannot be converted (the input is then unusable). */
export function convertUnit(value: number, from: string, to: string, molarMass?: number): number | undefined {
  const f = normaliseUnit(from);
  if (f === to) return value;
  const key = `${f}|${to}|${molarMass ?? ''}`;
  let factor = factors.get(key);
  if (factor === undefined) {
    const r = utils.convertUnitTo(f, 1, to, molarMass ? { molecularWeight: molarMass } : {});
    factor = r.status === 'succeeded' && typeof r.toVal === 'number' && Number.isFinite(r.toVal) ? r.toVal : null;
    factors.set(key, factor);
  }
  return factor === null ? undefined : value * factor;
}

export function isValidUcum(unit: string): boolean {
  return utils.validateUnitString(unit).status === 'valid';
}
