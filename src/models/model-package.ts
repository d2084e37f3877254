/**
 * Model packages: a folder models/<id>/ holding manifest.json, features.json ({ features,
 * applicability }) and the ONNX graph the manifest names. A package is loaded once at start:
 * the graph's sha256 must match the manifest, its inputs and outputs must be the ones declared,
 * and it must reproduce its reference cases; otherwise it is refused with sentences saying why.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ApplicabilitySpec, FeatureSpec } from '../features/feature-spec.ts';
import { categoryProblems } from './categories.ts';
import type { ModelManifest } from './manifest.ts';
import { decodeModel, type DecodedModel } from './onnx-schema.ts';

export interface ModelPackage {
  manifest: ModelManifest;
  /** Absolute path of the package folder. */
  dir: string;
  /** The one onnxruntime session of this package (1 intra-op and 1 inter-op thread, sequential). */
  session: ort.InferenceSession;
  /** The decoded ONNX graph (nodes, attributes, initializers), for explainers that read its structure. */
  graph: DecodedModel;
  /** Feature ids in ONNX input column order. */
  featureIds: string[];
}

/** A package that cannot be used; `problems` holds one sentence per problem found. */
export class ModelPackageError extends Error {
  readonly problems: string[];
  constructor(dir: string, problems: string[]) {
    super(`Model package ${dir} was refused: ${problems.join(' ')}`);
    this.name = 'ModelPackageError';
    this.problems = problems;
  }
}

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

function readJson(file: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`${file} could not be read as JSON (${(err as Error).message}).`);
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sentences describing what is missing or inconsistent in a merged manifest (empty when usable). */
export function manifestProblems(m: ModelManifest): string[] {
  const problems: string[] = [];
  for (const key of ['id', 'version', 'name', 'outcome'] as const) {
    if (typeof m[key] !== 'string' || m[key] === '') problems.push(`manifest.json needs a "${key}" string.`);
  }
  if (!isObject(m.onnx) || typeof m.onnx.file !== 'string' || !/^[0-9a-f]{64}$/.test(String(m.onnx.sha256))) {
    problems.push('manifest.json needs "onnx": { "file", "sha256" (64 lowercase hex digits) }.');
  } else if (m.onnx.file.includes('/') || m.onnx.file.includes('\\')) {
    problems.push(`The ONNX file "${m.onnx.file}" must be a plain file name inside the package folder.`);
  }
  if (!isObject(m.input) || typeof m.input.name !== 'string' || !['float64', 'float32'].includes(m.input.type)) {
    problems.push('manifest.json needs "input": { "name", "type": "float64" | "float32" }.');
  }
  if (!isObject(m.output) || typeof m.output.name !== 'string') problems.push('manifest.json needs "output": { "name" }.');
  problems.push(...categoryProblems(m.categories));

  if (!Array.isArray(m.features) || m.features.length === 0) {
    problems.push('The package declares no features (features.json: { "features": [...] }).');
    return problems;
  }
  const ids = new Set<string>();
  for (const [i, f] of m.features.entries()) {
    if (!f || typeof f.id !== 'string' || f.id === '') {
      problems.push(`Feature ${i + 1} has no id.`);
      continue;
    }
    if (ids.has(f.id)) problems.push(`Feature "${f.id}" is declared twice.`);
    ids.add(f.id);
    if (!f.label) problems.push(`Feature "${f.id}" needs a label.`);
    if (!f.unit) problems.push(`Feature "${f.id}" needs a UCUM unit ("1" for flags).`);
    for (const code of codesOf(f)) {
      if (!code.system || !code.code) problems.push(`Feature "${f.id}" has a code without a system or code value.`);
    }
  }

  const ex = m.explanation;
  if (!isObject(ex) || typeof ex.method !== 'string' || !isObject(ex.reference)) {
    problems.push('manifest.json needs "explanation": { "method", "reference", "referenceDescription", "whatIf" }.');
  } else {
    for (const id of ids) {
      const ref = ex.reference[id];
      if (ref === undefined) problems.push(`The explanation reference has no value for feature "${id}" (a number or "patient").`);
      else if (ref !== 'patient' && !Number.isFinite(ref)) problems.push(`The explanation reference for "${id}" must be a number or "patient".`);
    }
    for (const key of Object.keys(ex.reference)) {
      if (!ids.has(key)) problems.push(`The explanation reference names "${key}", which is not a feature of the model.`);
    }
    for (const w of Array.isArray(ex.whatIf) ? ex.whatIf : []) {
      for (const key of Object.keys(w.set ?? {})) {
        if (!ids.has(key)) problems.push(`What-if "${w.label}" sets "${key}", which is not a feature of the model.`);
      }
      if (w.when && !ids.has(w.when.feature)) problems.push(`What-if "${w.label}" depends on "${w.when.feature}", which is not a feature of the model.`);
    }
  }
  for (const [i, c] of (m.referenceCases ?? []).entries()) {
    const missing = [...ids].filter((id) => !Number.isFinite(c.inputs?.[id]));
    if (missing.length) problems.push(`Reference case ${i + 1} has no value for ${missing.join(', ')}.`);
  }
  return problems;
}

function codesOf(f: FeatureSpec): { system?: string; code?: string }[] {
  if (f.source === 'observation-quantity') return [...(f.codes ?? []), ...(f.panels ?? []).flatMap((p) => p.codes ?? [])];
  if (f.source === 'coded-flag') return (f.evidence ?? []).flatMap((e) => e.codes ?? []);
  return [];
}

/** Reads manifest.json and features.json of a package folder into one manifest (no checks beyond JSON). */
export function readManifest(dir: string, problems: string[] = []): ModelManifest | undefined {
  const raw = readJson(join(dir, 'manifest.json'), problems);
  if (!isObject(raw)) {
    if (raw !== undefined) problems.push(`${join(dir, 'manifest.json')} must hold a JSON object.`);
    return undefined;
  }
  const featuresFile = join(dir, 'features.json');
  if (existsSync(featuresFile)) {
    const spec = readJson(featuresFile, problems);
    if (!isObject(spec) || !Array.isArray(spec.features)) {
      if (spec !== undefined) problems.push(`${featuresFile} must hold { "features": [...], "applicability": {...} }.`);
      return undefined;
    }
    raw.features = spec.features as FeatureSpec[];
    raw.applicability = (spec.applicability ?? {}) as ApplicabilitySpec;
  } else if (!Array.isArray(raw.features)) {
    problems.push(`${featuresFile} is missing (it holds the package's feature specifications).`);
    return undefined;
  }
  raw.applicability ??= {};
  return raw as unknown as ModelManifest;
}

/** Loads one package folder; throws ModelPackageError listing every problem found. */
export async function loadModelPackage(dirPath: string): Promise<ModelPackage> {
  const dir = resolve(dirPath);
  const problems: string[] = [];
  const manifest = readManifest(dir, problems);
  if (!manifest) throw new ModelPackageError(dir, problems);
  problems.push(...manifestProblems(manifest));
  if (problems.length) throw new ModelPackageError(dir, problems);

  const onnxPath = join(dir, manifest.onnx.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(onnxPath);
  } catch {
    throw new ModelPackageError(dir, [`The ONNX file ${manifest.onnx.file} named in manifest.json is missing from ${dir}.`]);
  }
  // The session is created from these very bytes, so the hash checked is the graph that runs.
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== manifest.onnx.sha256) {
    throw new ModelPackageError(dir, [
      `${manifest.onnx.file} has sha256 ${actual}, but manifest.json expects ${manifest.onnx.sha256}: the file is not the one the manifest was written for.`,
    ]);
  }

  let graph: DecodedModel;
  let session: ort.InferenceSession;
  try {
    graph = decodeModel(bytes);
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    throw new ModelPackageError(dir, [`onnxruntime could not load ${manifest.onnx.file} (${(err as Error).message}).`]);
  }

  const featureIds = manifest.features.map((f) => f.id);
  const pkg: ModelPackage = { manifest, dir, session, graph, featureIds };
  problems.push(...signatureProblems(pkg));
  if (!problems.length) problems.push(...(await referenceCaseProblems(pkg)));
  if (problems.length) {
    await session.release().catch(() => undefined);
    throw new ModelPackageError(dir, problems);
  }
  return pkg;
}

function signatureProblems(pkg: ModelPackage): string[] {
  const { manifest: m, session } = pkg;
  const problems: string[] = [];
  if (!session.inputNames.includes(m.input.name)) {
    problems.push(`The graph has no input "${m.input.name}" (it has ${session.inputNames.join(', ')}).`);
  } else if (session.inputNames.length !== 1) {
    problems.push(`The graph has ${session.inputNames.length} inputs; a package graph takes exactly one, "${m.input.name}".`);
  }
  if (!session.outputNames.includes(m.output.name)) {
    problems.push(`The graph has no output "${m.output.name}" (it has ${session.outputNames.join(', ')}).`);
  }
  const input = session.inputMetadata.find((v) => v.name === m.input.name);
  if (input?.isTensor) {
    if (input.type !== m.input.type) problems.push(`Input "${m.input.name}" is ${input.type} in the graph but ${m.input.type} in manifest.json.`);
    const width = input.shape[1];
    if (input.shape.length !== 2) {
      problems.push(`Input "${m.input.name}" must be a matrix [N, ${m.features.length}]; the graph declares ${input.shape.length} dimensions.`);
    } else if (typeof width === 'number' && width !== m.features.length) {
      problems.push(`The graph takes ${width} input columns but the package declares ${m.features.length} features.`);
    }
  }
  const output = session.outputMetadata.find((v) => v.name === m.output.name);
  if (output?.isTensor && output.shape.length === 2 && typeof output.shape[1] === 'number' && output.shape[1] > 1) {
    const col = m.output.column;
    if (col === undefined || col < 0 || col >= output.shape[1]) {
      problems.push(`Output "${m.output.name}" has ${output.shape[1]} columns; manifest.json must say which holds the risk ("output.column").`);
    }
  }
  return problems;
}

async function referenceCaseProblems(pkg: ModelPackage): Promise<string[]> {
  const cases = pkg.manifest.referenceCases ?? [];
  if (!cases.length) return [];
  let risks: number[];
  try {
    risks = await predictBatch(pkg, cases.map((c) => pkg.featureIds.map((id) => c.inputs[id]!)));
  } catch (err) {
    return [`Running the reference cases failed (${(err as Error).message}).`];
  }
  const problems: string[] = [];
  cases.forEach((c, i) => {
    const got = risks[i]!;
    if (!(Math.abs(got - c.expectedRisk) <= c.tolerance)) {
      problems.push(
        `Reference case ${i + 1}${c.note ? ` (${c.note})` : ''} gave risk ${got} where ${c.expectedRisk} ± ${c.tolerance} was expected.`,
      );
    }
  });
  return problems;
}

/**
 * Risks (0-1) for a row-major matrix of `rows` rows in feature order, in one session.run.
 * For callers that build their own typed arrays (explainers); others use predictBatch.
 */
export async function predictMatrix(pkg: ModelPackage, data: Float64Array, rows: number): Promise<Float64Array> {
  const width = pkg.featureIds.length;
  if (data.length !== rows * width) {
    throw new Error(`Model ${pkg.manifest.id} takes ${width} values per row; got ${data.length} values for ${rows} rows.`);
  }
  if (rows === 0) return new Float64Array(0);
  const { input, output } = pkg.manifest;
  const tensor =
    input.type === 'float64'
      ? new ort.Tensor('float64', data, [rows, width])
      : new ort.Tensor('float32', Float32Array.from(data), [rows, width]);
  const results = await pkg.session.run({ [input.name]: tensor }, [output.name]);
  const out = results[output.name];
  if (!out) throw new Error(`Model ${pkg.manifest.id} returned no output "${output.name}".`);
  const values = out.data as Float64Array | Float32Array;
  const dims = out.dims;
  const columns = dims.length === 2 ? dims[1]! : 1;
  if (dims[0] !== rows || dims.length > 2 || values.length !== rows * columns) {
    throw new Error(`Model ${pkg.manifest.id} returned output of shape [${dims.join(', ')}] for ${rows} rows.`);
  }
  const column = columns === 1 ? 0 : pkg.manifest.output.column;
  if (column === undefined || column >= columns) {
    throw new Error(`Model ${pkg.manifest.id} returned ${columns} output columns and manifest.json names none of them.`);
  }
  const risks = new Float64Array(rows);
  for (let r = 0; r < rows; r++) risks[r] = values[r * columns + column]!;
  return risks;
}

/** Risks (0-1), one per row (values in feature order), computed in one session.run. */
export async function predictBatch(pkg: ModelPackage, rows: number[][]): Promise<number[]> {
  const width = pkg.featureIds.length;
  const data = new Float64Array(rows.length * width);
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error(`Model ${pkg.manifest.id} takes ${width} values per row; row ${r + 1} has ${row.length}.`);
    data.set(row, r * width);
  });
  return Array.from(await predictMatrix(pkg, data, rows.length));
}

/** Loads every subfolder of `modelsDir` that holds a manifest.json, keyed by model id. */
export async function loadModelPackages(modelsDir: string): Promise<Map<string, ModelPackage>> {
  const root = resolve(modelsDir);
  const dirs = readdirSync(root)
    .sort()
    .map((name) => join(root, name))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'manifest.json')));
  const packages = new Map<string, ModelPackage>();
  const problems: string[] = [];
  for (const dir of dirs) {
    try {
      const pkg = await loadModelPackage(dir);
      if (packages.has(pkg.manifest.id)) {
        problems.push(`Two packages declare the model id "${pkg.manifest.id}" (the second is ${dir}).`);
        await pkg.session.release().catch(() => undefined);
      } else {
        packages.set(pkg.manifest.id, pkg);
      }
    } catch (err) {
      if (!(err instanceof ModelPackageError)) throw err;
      problems.push(...err.problems.map((p) => `${dir}: ${p}`));
    }
  }
  if (!problems.length && packages.size === 0) problems.push(`No model package (a folder with manifest.json) was found in ${root}.`);
  if (problems.length) {
    await Promise.all([...packages.values()].map((p) => p.session.release().catch(() => undefined)));
    throw new ModelPackageError(root, problems);
  }
  return packages;
}
