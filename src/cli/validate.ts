/**
 * `riskcards validate <model-dir>`: checks a model package and reports each problem in a sentence:
 * what loading refuses (sha256, ONNX inputs and outputs, reference cases), and what would only fail
 * later: unknown explanation method, unknown formula, units UCUM cannot read, code systems no
 * EHR uses.
 */
import { readManifest } from '../models/model-package.ts';
import { validateModelPackage } from '../models/validate-package.ts';
import { explanationProblems } from '../explain/explainers.ts';
import { formulaProblems } from '../features/formulas.ts';
import { isValidUcum } from '../features/units.ts';
import type { CodeRef, FeatureSpec } from '../features/feature-spec.ts';

/** Code systems the feature specs may name (FHIR canonical URIs). */
const KNOWN_SYSTEMS = new Set([
  'http://loinc.org',
  'http://snomed.info/sct',
  'http://hl7.org/fhir/sid/icd-10-cm',
  'http://hl7.org/fhir/sid/icd-10',
  'http://www.nlm.nih.gov/research/umls/rxnorm',
  'http://unitsofmeasure.org',
  'urn:oid:2.16.840.1.113883.6.238',
]);

function codesOf(f: FeatureSpec): CodeRef[] {
  if (f.source === 'observation-quantity') return [...f.codes, ...(f.panels ?? []).flatMap((p) => p.codes), ...Object.values(f.fallback?.observations ?? {}).flatMap((o) => o.codes)];
  if (f.source === 'coded-flag') return f.evidence.flatMap((e) => [...e.codes, ...('positiveValues' in e ? [...e.positiveValues, ...e.negativeValues] : [])]);
  return [];
}

export async function packageProblems(dir: string): Promise<string[]> {
  const problems = await validateModelPackage(dir);
  const manifest = readManifest(dir, []);
  if (!manifest) return problems;
  problems.push(...explanationProblems(manifest), ...formulaProblems(manifest.features));
  for (const f of manifest.features) {
    if (f.unit !== '1' && !isValidUcum(f.unit)) problems.push(`Feature "${f.id}": unit "${f.unit}" is not a valid UCUM unit.`);
    for (const c of codesOf(f)) if (!KNOWN_SYSTEMS.has(c.system)) problems.push(`Feature "${f.id}": code ${c.code} names the code system "${c.system}", which is not one the service knows.`);
  }
  return [...new Set(problems)];
}

export async function runValidate(dir: string): Promise<number> {
  const problems = await packageProblems(dir);
  if (!problems.length) {
    process.stdout.write(`${dir}: the package is valid (sha256, inputs and outputs, feature codes and units, explanation method, reference cases).\n`);
    return 0;
  }
  process.stdout.write(`${dir}: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  return 1;
}
