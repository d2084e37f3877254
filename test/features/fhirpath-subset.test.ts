/**
 * The fast FHIRPath subset (src/features/fhirpath-subset.ts) against fhirpath.js with the R4
 * model: the same answer for every path of every bundled model, and for further expressions of
 * the subset, on every resource of every fixture patient and on hand-made edge cases; anything
 * outside the subset is refused so that fhirpath.js evaluates it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { compileFhirPathSubset } from '../../src/features/fhirpath-subset.ts';
import { fixturePatientIds, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';

const MODELS = new URL('../../models/', import.meta.url);

/** Every `path` and `valuePath` in the bundled models' feature files. */
function modelPaths(): string[] {
  const out = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object')
      for (const [k, v] of Object.entries(x)) {
        if ((k === 'path' || k === 'valuePath') && typeof v === 'string') out.add(v);
        else walk(v);
      }
  };
  for (const id of readdirSync(MODELS)) {
    const f = new URL(`${id}/features.json`, MODELS);
    if (existsSync(f)) walk(JSON.parse(readFileSync(f, 'utf8')));
  }
  return [...out];
}

const EXTRA = [
  'value',
  'Observation.value',
  'Patient.gender',
  'code.coding.code',
  "code.coding.where(system='http://loinc.org').code",
  'effective',
  "status = 'final'",
  "status != 'final'",
  'component.value.exists()',
  'component.value.empty()',
  'valueQuantity.value',
  'valueQuantity.value = 120',
  'extension.url',
  'extension.extension.value',
  'name.given.first()',
  "category.coding.where(code='vital-signs').exists().not()",
  "status = 'final' or value.exists()",
  "(status = 'final' and code.coding.exists()) or false",
  'subject.reference',
  'code.text.empty()',
  'onset',
  'clinicalStatus.coding.code',
  'medication.coding.display',
  'dosageInstruction.timing.repeat.bounds',
  "component.where(code.coding.where(code='8480-6').exists()).value.value",
];

const OUTSIDE = ['value.ofType(Quantity)', 'value as Quantity', 'a + b', '%resource.id', 'code.coding[0]', 'name.given.count() > 1', 'value.is(Quantity)', "iif(status = 'final', 1, 0)", '`div`', "status in ('final' | 'amended')"];

const reference = (expr: string) => {
  const fn = fhirpath.compile(expr, r4 as never) as unknown as (r: unknown) => unknown[];
  return (r: unknown): unknown[] | 'error' => {
    try {
      return fn(r);
    } catch {
      return 'error';
    }
  };
};

test('the bundled models use only the subset', () => {
  const paths = modelPaths();
  assert.ok(paths.length >= 3, 'the models declare FHIRPath expressions');
  for (const p of paths) assert.ok(compileFhirPathSubset(p), `outside the subset: ${p}`);
});

test('same answers as fhirpath.js on every fixture resource, for every model path and further expressions', () => {
  const exprs = [...modelPaths(), ...EXTRA];
  const resources = fixturePatientIds().flatMap((id) => {
    const b = loadBundle(id);
    return [patientOf(b), ...resourcesOf(b)];
  });
  assert.ok(resources.length > 1000);
  let nonEmpty = 0;
  for (const expr of exprs) {
    const fast = compileFhirPathSubset(expr);
    assert.ok(fast, `compiles: ${expr}`);
    const slow = reference(expr);
    let found = 0;
    for (const r of resources) {
      const expected = slow(r);
      if (expected === 'error') {
        assert.throws(() => fast(r), `${expr} on ${(r as { resourceType: string }).resourceType}/${(r as { id: string }).id}: fhirpath.js fails, so must the subset`);
        continue;
      }
      const got = fast(r);
      assert.deepEqual(got, expected, `${expr} on ${(r as { resourceType: string }).resourceType}/${(r as { id: string }).id}`);
      if (got.length) found++;
    }
    if (found) nonEmpty++;
  }
  // Most expressions must find something, or the comparison says little.
  assert.ok(nonEmpty >= exprs.length - 6, `only ${nonEmpty} of ${exprs.length} expressions found a value in the fixtures`);
});

test('edge cases: several choice types, empty operands, three-valued logic, escapes', () => {
  const cases: [string, unknown][] = [
    ['value', { resourceType: 'Observation', status: 'final', code: {}, valueString: 'x', valueQuantity: { value: 1 } }],
    ['value', { resourceType: 'Observation', status: 'final', code: {}, valueCodeableConcept: { text: 'pos' } }],
    ['value', { resourceType: 'Observation', status: 'final', code: {}, valueBoolean: false }],
    ["code.text = 'it\\'s'", { resourceType: 'Observation', status: 'final', code: { text: "it's" } }],
    ["code.text = 'x' and status = 'final'", { resourceType: 'Observation', status: 'final', code: {} }],
    ["code.text = 'x' or status = 'final'", { resourceType: 'Observation', status: 'final', code: {} }],
    ["code.text = 'x' or status = 'draft'", { resourceType: 'Observation', status: 'final', code: {} }],
    ["code.text = 'x' and status = 'draft'", { resourceType: 'Observation', status: 'final', code: {} }],
    ['component.value', { resourceType: 'Observation', status: 'final', code: {}, component: [{ code: {}, valueQuantity: { value: 1 } }, { code: {}, valueInteger: 3 }, { code: {} }] }],
    ['extension.value', { resourceType: 'Patient', extension: [{ url: 'u', valueCoding: { code: 'c' } }, { url: 'v', valueString: 's' }] }],
    ['value', { resourceType: 'Patient', gender: 'male' }],
    ['Observation.value', { resourceType: 'Patient', gender: 'male' }],
    ['gender', { resourceType: 'Unknown', gender: 'male' }],
    ['value', null],
  ];
  for (const [expr, r] of cases) {
    const expected = reference(expr)(r);
    const fast = compileFhirPathSubset(expr)!;
    if (expected === 'error') assert.throws(() => fast(r), expr);
    else assert.deepEqual(fast(r), expected, `${expr} on ${JSON.stringify(r)}`);
  }
});

test('expressions outside the subset are refused, so fhirpath.js evaluates them', () => {
  for (const e of OUTSIDE) assert.equal(compileFhirPathSubset(e), undefined, e);
});
