/**
 * Checks the exported package in onnxruntime-node, the runtime the service uses (train.py can only
 * check the tree arrays with its own walker, as Debian ships no onnxruntime for Python):
 *   - model.onnx has the sha256 written in manifest.json;
 *   - probabilities[:, 1] equals xgboost's predict_proba for all 768 rows of the fixture
 *     test/fixtures/pima/xgb-contribs.json (rows with missing values passed as NaN), within 1e-6,
 *     and probabilities[:, 0] = 1 - probabilities[:, 1];
 *   - the manifest's reference cases are reproduced within their tolerance.
 * Run from the repository root: node --import tsx models/pima-diabetes/train/verify-onnxruntime.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const packageDir = new URL('../', import.meta.url);
const fixtureUrl = new URL('../../../test/fixtures/pima/xgb-contribs.json', import.meta.url);

interface FixtureRow {
  row: number;
  input: (number | null)[];
  probability: number;
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', packageDir), 'utf8')) as {
  onnx: { file: string; sha256: string };
  input: { name: string };
  output: { name: string; column: number };
  referenceCases: { inputs: Record<string, number>; expectedRisk: number; tolerance: number }[];
};
const fixture = JSON.parse(readFileSync(fixtureUrl, 'utf8')) as { features: string[]; rows: FixtureRow[] };
const bytes = readFileSync(new URL(manifest.onnx.file, packageDir));
const problems: string[] = [];

const sha = createHash('sha256').update(bytes).digest('hex');
if (sha !== manifest.onnx.sha256) problems.push(`model.onnx sha256 ${sha} differs from the manifest's ${manifest.onnx.sha256}.`);

const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });

async function probabilities(rows: number[][]): Promise<Float32Array> {
  const width = fixture.features.length;
  const data = Float32Array.from(rows.flat());
  const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', data, [rows.length, width]) });
  const tensor = out[manifest.output.name];
  if (!tensor || tensor.dims.length !== 2 || tensor.dims[1] !== 2) throw new Error(`unexpected output ${JSON.stringify(tensor?.dims)}`);
  return tensor.data as Float32Array;
}

const probs = await probabilities(fixture.rows.map((r) => r.input.map((v) => (v === null ? Number.NaN : v))));
let maxDiff = 0;
let maxComplement = 0;
for (const [i, r] of fixture.rows.entries()) {
  maxDiff = Math.max(maxDiff, Math.abs(probs[2 * i + manifest.output.column]! - r.probability));
  maxComplement = Math.max(maxComplement, Math.abs(probs[2 * i]! + probs[2 * i + 1]! - 1));
}
if (maxDiff > 1e-6) problems.push(`onnxruntime differs from xgboost by up to ${maxDiff} (limit 1e-6).`);
if (maxComplement > 1e-6) problems.push(`probabilities do not sum to 1 (off by up to ${maxComplement}).`);

const cases = await probabilities(manifest.referenceCases.map((c) => fixture.features.map((f) => c.inputs[f]!)));
for (const [i, c] of manifest.referenceCases.entries()) {
  const got = cases[2 * i + manifest.output.column]!;
  if (Math.abs(got - c.expectedRisk) > c.tolerance) problems.push(`reference case ${i + 1}: ${got} vs expected ${c.expectedRisk}.`);
}

const withMissing = fixture.rows.filter((r) => r.input.includes(null)).length;
console.log(
  `${fileURLToPath(packageDir)}: ${fixture.rows.length} rows (${withMissing} with missing values), ` +
    `max |onnxruntime - xgboost| = ${maxDiff.toExponential(2)}, ${manifest.referenceCases.length} reference cases`,
);
await session.release();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exitCode = 1;
} else {
  console.log('ok');
}
