import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MEANS, S10, TERMS } from '../../models/pce-ascvd/build-onnx.ts';
import { decodeModel, encodeModel, TensorDataType, type DecodedAttribute } from '../../src/models/onnx-schema.ts';
import { PCE_DIR } from './pce-package-fixture.ts';

const fixture = (name: string) => new URL(`../fixtures/models/${name}`, import.meta.url);

function plain(a: DecodedAttribute | undefined): unknown {
  return a?.value;
}

describe('decodeModel', () => {
  test('reads a tree ensemble written by the onnx Python package exactly as onnx reads it back', () => {
    const model = decodeModel(readFileSync(fixture('tree-ensemble.onnx')));
    const expected = JSON.parse(readFileSync(fixture('tree-ensemble.expected.json'), 'utf8'));
    assert.equal(model.irVersion, expected.irVersion);
    assert.deepEqual(model.opsets, expected.opsets);
    assert.equal(model.producerName, expected.producerName);
    assert.deepEqual(model.metadata, expected.metadata);
    const node = model.graph.nodes[0]!;
    assert.deepEqual(
      { opType: node.opType, domain: node.domain, name: node.name, inputs: node.inputs, outputs: node.outputs },
      { opType: expected.node.opType, domain: expected.node.domain, name: expected.node.name, inputs: expected.node.inputs, outputs: expected.node.outputs },
    );
    assert.deepEqual(Object.keys(node.attributes).sort(), Object.keys(expected.node.attributes).sort());
    for (const [name, value] of Object.entries(expected.node.attributes)) {
      assert.deepEqual(plain(node.attributes[name]), value, name);
    }
    assert.equal(node.attributes.nodes_modes?.type, 'strings');
    assert.equal(node.attributes.post_transform?.type, 'string');
    assert.equal(node.attributes.nodes_featureids?.type, 'ints');
    assert.equal(node.attributes.nodes_values?.type, 'floats');
    for (const t of model.graph.initializers) {
      const e = expected.initializers[t.name];
      assert.ok(e, t.name);
      assert.deepEqual({ dims: t.dims, dataType: t.dataType, values: t.values }, e, t.name);
    }
    assert.deepEqual(model.graph.inputs, expected.inputs);
    assert.deepEqual(model.graph.outputs.map((o) => o.shape), [['N'], ['N', 2]]);
  });

  test('reads back the Table A constants from the built PCE graph', () => {
    const model = decodeModel(readFileSync(`${PCE_DIR}/model.onnx`));
    const init = new Map(model.graph.initializers.map((t) => [t.name, t]));
    assert.deepEqual(init.get('coefficients')?.dims, [TERMS.length, 4]);
    assert.deepEqual(init.get('coefficients')?.values, TERMS.flatMap((t) => t.coefficients));
    assert.deepEqual(init.get('means')?.values, MEANS);
    assert.deepEqual(init.get('s10')?.values, S10);
    assert.equal(init.get('idx_continuous')?.dataType, TensorDataType.INT64);
    assert.deepEqual(init.get('idx_continuous')?.values, [0, 3, 4, 5]);
    assert.deepEqual(model.graph.inputs, [{ name: 'features', elemType: TensorDataType.DOUBLE, shape: ['N', 9] }]);
    assert.deepEqual(model.opsets, [{ domain: '', version: 17 }]);
    assert.equal(model.irVersion, 8);
  });
});

describe('encodeModel', () => {
  test('writes attributes of every kind so that they decode to the same values and onnxruntime runs the graph', async () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      metadata: { note: 'round trip' },
      graph: {
        name: 'g',
        nodes: [
          { opType: 'Mul', inputs: ['x', 'two'], outputs: ['doubled'], name: 'times_two' },
          { opType: 'LeakyRelu', inputs: ['doubled'], outputs: ['y'], attributes: { alpha: { float: 2 } } },
          {
            opType: 'Identity',
            inputs: ['y'],
            outputs: ['z'],
            attributes: { i: 3, f: 0.25, s: 'text', ints: [1, -2], floats: [0.5, 1.5], strings: ['a', 'b'] },
          },
        ],
        initializers: [{ name: 'two', dataType: 'float64', dims: [1], values: [2] }],
        inputs: [{ name: 'x', elemType: 'float64', shape: ['N', 2] }],
        outputs: [{ name: 'z', elemType: 'float64', shape: ['N', 2] }],
      },
    });
    const model = decodeModel(bytes);
    assert.deepEqual(model.metadata, { note: 'round trip' });
    const attrs = model.graph.nodes[2]!.attributes;
    assert.deepEqual(attrs, {
      i: { type: 'int', value: 3 },
      f: { type: 'float', value: 0.25 },
      s: { type: 'string', value: 'text' },
      ints: { type: 'ints', value: [1, -2] },
      floats: { type: 'floats', value: [0.5, 1.5] },
      strings: { type: 'strings', value: ['a', 'b'] },
    });
    assert.deepEqual(model.graph.nodes[1]!.attributes.alpha, { type: 'float', value: 2 });
    assert.equal(model.graph.nodes[0]!.name, 'times_two');
    // Identity has no such attributes, so the graph given to onnxruntime leaves it out; alpha = 2 only
    // gives -4 below if it was written as a FLOAT.
    const runnable = encodeModel({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        nodes: [
          { opType: 'Mul', inputs: ['x', 'two'], outputs: ['doubled'] },
          { opType: 'LeakyRelu', inputs: ['doubled'], outputs: ['z'], attributes: { alpha: { float: 2 } } },
        ],
        initializers: [{ name: 'two', dataType: 'float64', dims: [1], values: [2] }],
        inputs: [{ name: 'x', elemType: 'float64', shape: ['N', 2] }],
        outputs: [{ name: 'z', elemType: 'float64', shape: ['N', 2] }],
      },
    });
    const session = await ort.InferenceSession.create(runnable);
    const out = await session.run({ x: new ort.Tensor('float64', Float64Array.from([1.5, -1]), [1, 2]) });
    assert.deepEqual(Array.from(out.z!.data as Float64Array), [3, -4]);
    await session.release();
  });

  test('refuses a tensor whose values do not fill its dims', () => {
    assert.throws(
      () =>
        encodeModel({
          irVersion: 8,
          opsets: [{ domain: '', version: 17 }],
          graph: { name: 'g', nodes: [], initializers: [{ name: 't', dataType: 'float64', dims: [2, 2], values: [1, 2, 3] }], inputs: [], outputs: [] },
        }),
      /Tensor t has dims \[2, 2\] but 3 values/,
    );
  });
});
