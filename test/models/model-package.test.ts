import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ModelManifest } from '../../src/models/manifest.ts';
import { loadModelPackage, loadModelPackages, ModelPackageError, predictBatch } from '../../src/models/model-package.ts';
import { encodeModel } from '../../src/models/onnx-schema.ts';
import { validateModelPackage } from '../../src/models/validate-package.ts';
import { copyPcePackage, tempDir } from './pce-package-fixture.ts';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const fresh = () => copyPcePackage(tmp.root, `pkg-${++n}`);

async function refusal(dir: string): Promise<string[]> {
  try {
    const pkg = await loadModelPackage(dir);
    await pkg.session.release();
  } catch (err) {
    assert.ok(err instanceof ModelPackageError, `expected a ModelPackageError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the package was accepted');
}

function editManifest(dir: string, edit: (m: ModelManifest & Record<string, unknown>) => void): void {
  const file = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  writeFileSync(file, JSON.stringify(m));
}

/** A logistic model on two float32 inputs whose output "probabilities" is [N, 2] = [1 - p, p]. */
function writeLogisticPackage(dir: string, weights: [number, number]): void {
  mkdirSync(dir, { recursive: true });
  const bytes = encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    graph: {
      name: 'logistic',
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['z'] },
        { opType: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
        { opType: 'Sub', inputs: ['one', 'p'], outputs: ['q'] },
        { opType: 'Concat', inputs: ['q', 'p'], outputs: ['probabilities'], attributes: { axis: 1 } },
      ],
      initializers: [
        { name: 'w', dataType: 'float32', dims: [2, 1], values: weights },
        { name: 'one', dataType: 'float32', dims: [], values: [1] },
      ],
      inputs: [{ name: 'x', elemType: 'float32', shape: ['N', 2] }],
      outputs: [{ name: 'probabilities', elemType: 'float32', shape: ['N', 2] }],
    },
  });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  const feature = (id: string) => ({ id, label: id, unit: '1', source: 'age', missing: { policy: 'required' } });
  const manifest = {
    id: 'logistic',
    version: '0.0.1',
    name: 'Two-input logistic model',
    outcome: 'a test outcome',
    onnx: { file: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex') },
    input: { name: 'x', type: 'float32' },
    output: { name: 'probabilities', column: 1 },
    features: [feature('a'), feature('b')],
    applicability: {},
    categories: [
      { code: 'low', label: 'Low', below: 0.5, indicator: 'info' },
      { code: 'high', label: 'High', indicator: 'warning' },
    ],
    explanation: { method: 'exact-shapley', reference: { a: 0, b: 0 }, referenceDescription: 'zero', whatIf: [] },
    modelCard: { intendedUse: 'tests', population: 'none', exclusions: [], performance: {}, limitations: [], references: [] },
    referenceCases: [{ inputs: { a: 1, b: 0 }, expectedRisk: 1 / (1 + Math.exp(-weights[0])), tolerance: 1e-6 }],
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

describe('loading a model package', () => {
  test('a package whose model.onnx was changed by one byte is refused, naming the file and both hashes', async () => {
    const dir = fresh();
    const file = join(dir, 'model.onnx');
    const bytes = readFileSync(file);
    const expected = createHash('sha256').update(bytes).digest('hex');
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
    writeFileSync(file, bytes);
    const actual = createHash('sha256').update(bytes).digest('hex');
    const problems = await refusal(dir);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /model\.onnx/);
    assert.ok(problems[0]!.includes(expected), 'names the expected hash');
    assert.ok(problems[0]!.includes(actual), 'names the actual hash');
  });

  test('the untouched copy of the same package loads', async () => {
    const pkg = await loadModelPackage(fresh());
    assert.equal(pkg.manifest.id, 'pce-ascvd');
    assert.equal(pkg.manifest.features.length, 9);
    assert.deepEqual(pkg.manifest.applicability, { ageRange: [40, 79] });
    assert.equal(pkg.graph.graph.inputs[0]?.name, 'features');
    await pkg.session.release();
  });

  test('a package whose features do not match the graph width is refused', async () => {
    const dir = fresh();
    const spec = JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8'));
    spec.features.pop();
    writeFileSync(join(dir, 'features.json'), JSON.stringify(spec));
    editManifest(dir, (m) => {
      delete (m.explanation.reference as Record<string, unknown>).diabetes;
      for (const c of m.referenceCases ?? []) delete c.inputs.diabetes;
    });
    const problems = await refusal(dir);
    assert.ok(problems.some((p) => /takes 9 input columns but the package declares 8 features/.test(p)), problems.join('\n'));
  });

  test('a package that does not reproduce a reference case is refused with the case and both risks', async () => {
    const dir = fresh();
    editManifest(dir, (m) => {
      m.referenceCases![0]!.expectedRisk = 0.03;
    });
    const problems = await refusal(dir);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /Reference case 1 .*gave risk 0\.0205\d* where 0\.03 ± 0\.00001 was expected/);
  });

  test('a manifest naming an output the graph lacks is refused', async () => {
    const dir = fresh();
    editManifest(dir, (m) => {
      m.output = { name: 'probability' };
    });
    const problems = await refusal(dir);
    assert.ok(problems.some((p) => p.includes('no output "probability"') && p.includes('risk')), problems.join('\n'));
  });

  test('an explanation reference naming an unknown feature, and a missing features.json, are refused', async () => {
    const dir = fresh();
    editManifest(dir, (m) => {
      (m.explanation.reference as Record<string, unknown>).ldl = 100;
    });
    assert.ok((await refusal(dir)).some((p) => p.includes('"ldl"')));
    const bare = fresh();
    rmSync(join(bare, 'features.json'));
    assert.ok((await refusal(bare)).some((p) => p.includes('features.json is missing')));
  });

  test('validateModelPackage lists the problems instead of throwing, and none for a good package', async () => {
    const dir = fresh();
    assert.deepEqual(await validateModelPackage(dir), []);
    editManifest(dir, (m) => {
      m.categories = [{ code: 'x', label: 'X', below: 0.5, indicator: 'info' }];
    });
    const problems = await validateModelPackage(dir);
    assert.ok(problems.some((p) => p.includes('last category')), problems.join('\n'));
  });
});

describe('predictBatch', () => {
  test('reads the risk from the column the manifest names when the output is [N, 2], feeding float32', async () => {
    const dir = join(tmp.root, 'logistic');
    writeLogisticPackage(dir, [0.7, -1.3]);
    const pkg = await loadModelPackage(dir);
    const rows = [
      [1, 0],
      [0, 1],
      [2.5, 1.5],
    ];
    const risks = await predictBatch(pkg, rows);
    rows.forEach((r, i) => {
      const expected = 1 / (1 + Math.exp(-(0.7 * r[0]! - 1.3 * r[1]!)));
      assert.ok(Math.abs(risks[i]! - expected) < 1e-6, `row ${i}: ${risks[i]} vs ${expected}`);
    });
    await assert.rejects(predictBatch(pkg, [[1, 2, 3]]), /takes 2 values per row; row 1 has 3/);
    await pkg.session.release();
  });

  test('an [N, 2] output with no column named is refused at load', async () => {
    const dir = join(tmp.root, 'logistic-no-column');
    writeLogisticPackage(dir, [0.7, -1.3]);
    editManifest(dir, (m) => {
      m.output = { name: 'probabilities' };
    });
    assert.ok((await refusal(dir)).some((p) => p.includes('output.column')));
  });
});

describe('loadModelPackages', () => {
  test('loads every subfolder holding a manifest.json, keyed by model id, and skips other folders', async () => {
    const { root, remove } = tempDir();
    try {
      copyPcePackage(root, 'pce');
      writeLogisticPackage(join(root, 'logistic'), [1, 1]);
      mkdirSync(join(root, 'notes'));
      const models = await loadModelPackages(root);
      assert.deepEqual([...models.keys()].sort(), ['logistic', 'pce-ascvd']);
      await Promise.all([...models.values()].map((p) => p.session.release()));
    } finally {
      remove();
    }
  });

  test('one bad package refuses the whole set, naming its folder', async () => {
    const { root, remove } = tempDir();
    try {
      copyPcePackage(root, 'pce');
      const bad = copyPcePackage(root, 'pce-copy');
      editManifest(bad, (m) => {
        m.id = 'pce-copy';
        m.onnx.sha256 = '0'.repeat(64);
      });
      await assert.rejects(loadModelPackages(root), (err: unknown) => {
        assert.ok(err instanceof ModelPackageError);
        assert.equal(err.problems.length, 1);
        assert.ok(err.problems[0]!.startsWith(bad), err.problems[0]);
        return true;
      });
    } finally {
      remove();
    }
  });
});
