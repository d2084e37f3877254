import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { coalitionRows, exactShapley, MAX_FREE_INPUTS } from '../../src/explain/shapley.ts';
import { predictBatch } from '../../src/models/model-package.ts';
import { pceCases, pceRow, usePcePackage } from '../models/pce-package-fixture.ts';

type Reference = (number | 'patient')[];

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/**
 * Shapley values by their definition as the mean marginal contribution over all orderings of the
 * free inputs (Shapley 1953), independent of the coalition-weight formula used in src.
 * Returns the rows to evaluate and a function turning their outputs into values.
 */
function bruteForcePlan(x: number[], reference: Reference): { rows: number[][]; values: (out: ArrayLike<number>) => number[] } {
  const free = reference.flatMap((r, j) => (r === 'patient' ? [] : [j]));
  const start = reference.map((r, j) => (r === 'patient' ? x[j]! : r));
  const orders = permutations(free);
  const rows: number[][] = [];
  for (const order of orders) {
    const z = [...start];
    rows.push([...z]);
    for (const j of order) {
      z[j] = x[j]!;
      rows.push([...z]);
    }
  }
  return {
    rows,
    values(out) {
      const phi = new Array<number>(x.length).fill(0);
      let r = 0;
      for (const order of orders) {
        for (const j of order) {
          phi[j] = phi[j]! + (out[r + 1]! - out[r]!) / orders.length;
          r++;
        }
        r++;
      }
      return phi;
    },
  };
}

/** A model with interactions of every order among up to 6 inputs. */
const toyModel = (z: number[]): number =>
  Math.tanh(0.3 * z[0]! * z[1]! - z[2]! + 0.1 * z[3]! * z[4]! * z[5]!) + 0.05 * z[0]! * z[0]! - Math.exp(-Math.abs(z[4]! - z[2]!));
const evaluateToy = async (rows: number[][]) => rows.map(toyModel);

const closeTo = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

describe('exact Shapley values', () => {
  test('agree with the mean over all orderings for random inputs, references and held inputs', async () => {
    const value = fc.double({ min: -3, max: 3, noNaN: true });
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 6, maxLength: 6 }), fc.array(fc.option(value, { nil: undefined }), { minLength: 6, maxLength: 6 }), async (x, refs) => {
        const reference: Reference = refs.map((r) => (r === undefined ? 'patient' : r));
        const got = await exactShapley(x, reference, evaluateToy);
        const brute = bruteForcePlan(x, reference);
        const expected = brute.values(brute.rows.map(toyModel));
        got.values.forEach((v, j) => assert.ok(closeTo(v, expected[j]!), `input ${j}: ${v} vs ${expected[j]}`));
      }),
      { numRuns: 60 },
    );
  });

  test('add up to f(x) - f(reference), and inputs held at the patient get exactly 0', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        async (x, held) => {
          const reference: Reference = held.map((h, j) => (h ? 'patient' : j / 2 - 1));
          const { values, fx, fReference } = await exactShapley(x, reference, evaluateToy);
          assert.equal(fx, toyModel(x));
          assert.equal(fReference, toyModel(reference.map((r, j) => (r === 'patient' ? x[j]! : r))));
          const sum = values.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - (fx - fReference)) < 1e-13, `${sum} vs ${fx - fReference}`);
          held.forEach((h, j) => h && assert.equal(values[j], 0));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('evaluate every coalition in one call of the model', async () => {
    let calls = 0;
    let rowsSeen = 0;
    await exactShapley([1, 2, 3, 4, 5], [0, 0, 'patient', 0, 0], async (rows) => {
      calls++;
      rowsSeen += rows.length;
      return rows.map((r) => r.reduce((a, b) => a + b, 0));
    });
    assert.equal(calls, 1);
    assert.equal(rowsSeen, 16);
  });

  test(`refuse more than ${MAX_FREE_INPUTS} free inputs`, () => {
    const n = MAX_FREE_INPUTS + 1;
    assert.throws(() => coalitionRows(new Array(n).fill(1), new Array(n).fill(0)), /at most 12 free inputs/);
  });

  test('of an additive model are each input\'s own term', async () => {
    const w = [0.5, -2, 3, 0.25];
    const x = [1, 2, -1, 4];
    const ref = [0, 1, 1, 2];
    const { values } = await exactShapley(x, ref, async (rows) => rows.map((r) => r.reduce((a, v, j) => a + w[j]! * v, 0)));
    values.forEach((v, j) => assert.ok(closeTo(v, w[j]! * (x[j]! - ref[j]!)), `input ${j}`));
  });
});

describe('exact Shapley values of the Pooled Cohort Equations through onnxruntime', () => {
  const pkg = usePcePackage();
  let reference: Reference;
  before(() => {
    reference = pkg().featureIds.map((id) => pkg().manifest.explanation.reference[id]!);
  });
  const evaluate = (rows: number[][]) => predictBatch(pkg(), rows);

  test('agree with the mean over all 720 orderings of the six free inputs', async () => {
    for (const c of pceCases().filter((_, i) => i % 40 === 2)) {
      const x = pceRow(c);
      const got = await exactShapley(x, reference, evaluate);
      const brute = bruteForcePlan(x, reference);
      const expected = brute.values(await predictBatch(pkg(), brute.rows));
      got.values.forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-12, `${c.id} ${pkg().featureIds[j]}: ${v} vs ${expected[j]}`));
    }
  });

  test('add up to the risk minus the reference risk for every reference vector', async () => {
    for (const c of pceCases()) {
      const x = pceRow(c);
      const { values, fx, fReference } = await exactShapley(x, reference, evaluate);
      const sum = values.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - (fx - fReference)) < 1e-14, `${c.id}: ${sum} vs ${fx - fReference}`);
      assert.ok(Math.abs(fx * 100 - c.expected_risk_percent) <= 0.001, c.id);
      assert.deepEqual([values[0], values[1], values[2]], [0, 0, 0]);
    }
  });
});
