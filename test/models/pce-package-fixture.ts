/**
 * Test fixtures for model packages: a temporary copy of models/pce-ascvd (with the test's own
 * features.json) and the PCE reference vectors as model rows.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { loadModelPackage, type ModelPackage } from '../../src/models/model-package.ts';

export const PCE_DIR = fileURLToPath(new URL('../../models/pce-ascvd/', import.meta.url));
const FIXTURES = new URL('../fixtures/', import.meta.url);

export interface PceCase {
  id: string;
  sex: 'female' | 'male';
  race: 'white' | 'african-american' | 'other';
  age: number;
  total_cholesterol_mg_dl: number;
  hdl_mg_dl: number;
  systolic_bp_mm_hg: number;
  bp_treated: boolean;
  smoker: boolean;
  diabetes: boolean;
  expected_risk_percent: number;
}

export function pceCases(): PceCase[] {
  return (JSON.parse(readFileSync(new URL('reference-vectors/pce.json', FIXTURES), 'utf8')) as { cases: PceCase[] }).cases;
}

/** A case as a model row: age, female, african_american, TC, HDL, SBP, bp_treated, smoker, diabetes. */
export function pceRow(c: PceCase): number[] {
  return [
    c.age,
    c.sex === 'female' ? 1 : 0,
    c.race === 'african-american' ? 1 : 0,
    c.total_cholesterol_mg_dl,
    c.hdl_mg_dl,
    c.systolic_bp_mm_hg,
    c.bp_treated ? 1 : 0,
    c.smoker ? 1 : 0,
    c.diabetes ? 1 : 0,
  ];
}

export function tempDir(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'riskcards-models-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Copies the pce-ascvd package (manifest, graph, fixture features.json) to `<root>/<name>`. */
export function copyPcePackage(root: string, name = 'pce-ascvd'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(PCE_DIR, 'manifest.json'), join(dir, 'manifest.json'));
  copyFileSync(join(PCE_DIR, 'model.onnx'), join(dir, 'model.onnx'));
  copyFileSync(fileURLToPath(new URL('models/pce-ascvd-features.json', FIXTURES)), join(dir, 'features.json'));
  return dir;
}

/**
 * In the calling describe: a loaded copy of the pce-ascvd package, loaded before its tests and
 * released (with its folder) after them. Returns the getter tests call.
 */
export function usePcePackage(): () => ModelPackage {
  const tmp = tempDir();
  let pkg: ModelPackage | undefined;
  before(async () => {
    pkg = await loadModelPackage(copyPcePackage(tmp.root));
  });
  after(async () => {
    await pkg?.session.release();
    tmp.remove();
  });
  return () => {
    if (!pkg) throw new Error('usePcePackage: the package is loaded in a before hook; call the getter inside tests');
    return pkg;
  };
}
