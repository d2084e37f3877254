/**
 * Path-dependent TreeSHAP for tree ensembles read from the ONNX graph itself
 * (ai.onnx.ml TreeEnsembleClassifier / TreeEnsembleRegressor): Lundberg, Erion & Lee, "Consistent
 * individualized feature attribution for tree ensembles" (2018), Algorithm 2, with node cover taken
 * from `nodes_hitrates` (the training pipeline stores each node's training cover there; onnxruntime
 * ignores it). Values are exact Shapley values of the margin (log-odds) with the cover-weighted
 * expectation as reference, as xgboost's pred_contribs computes them.
 *
 * Cards speak in risk: the margin contributions are scaled by (risk - referenceRisk) /
 * (margin - referenceMargin), which keeps their proportions and makes them add up exactly to the
 * risk difference; the raw log-odds values are kept in `marginContributions`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedModel } from '../models/onnx-schema.ts';
import type { ModelPackage } from '../models/model-package.ts';
import { registerExplainer, type Explainer } from './explainers.ts';
import type { ModelManifest } from '../models/manifest.ts';

interface Tree {
  feature: Int32Array;
  threshold: Float32Array;
  yes: Int32Array; // child when the comparison holds
  no: Int32Array;
  missingYes: Uint8Array;
  cover: Float64Array;
  value: Float64Array; // leaf value (margin units)
  leaf: Uint8Array;
  mode: string[];
  depth: number;
}

export interface TreeEnsemble {
  trees: Tree[];
  base: number;
  logistic: boolean;
  width: number;
}

const cache = new WeakMap<DecodedModel, TreeEnsemble>();

function attr<T>(node: DecodedModel['graph']['nodes'][number], name: string): T | undefined {
  return (node.attributes as Record<string, { value: unknown }>)[name]?.value as T | undefined;
}

/** Reads the ensemble's arrays once per model (cached). */
export function treeEnsembleOf(graph: DecodedModel): TreeEnsemble {
  const hit = cache.get(graph);
  if (hit) return hit;
  const node = graph.graph.nodes.find((n) => n.domain === 'ai.onnx.ml' && (n.opType === 'TreeEnsembleClassifier' || n.opType === 'TreeEnsembleRegressor'));
  if (!node) throw new Error('The ONNX graph has no TreeEnsembleClassifier or TreeEnsembleRegressor.');
  const classifier = node.opType === 'TreeEnsembleClassifier';
  const nums = (name: string): number[] => Array.from((attr<ArrayLike<number>>(node, name) ?? []) as ArrayLike<number>, Number);
  const treeIds = nums('nodes_treeids');
  const nodeIds = nums('nodes_nodeids');
  const featureIds = nums('nodes_featureids');
  const values = nums('nodes_values');
  const modes = (attr<string[]>(node, 'nodes_modes') ?? []).map(String);
  const trueIds = nums('nodes_truenodeids');
  const falseIds = nums('nodes_falsenodeids');
  const missing = nums('nodes_missing_value_tracks_true');
  const hitrates = nums('nodes_hitrates');
  if (hitrates.length !== treeIds.length) throw new Error('TreeSHAP needs node cover in nodes_hitrates; this graph has none.');
  const leafTree = nums(classifier ? 'class_treeids' : 'target_treeids');
  const leafNode = nums(classifier ? 'class_nodeids' : 'target_nodeids');
  const leafClass = nums(classifier ? 'class_ids' : 'target_ids');
  const leafWeight = nums(classifier ? 'class_weights' : 'target_weights');
  const base = nums('base_values')[0] ?? 0;
  const logistic = attr<string>(node, 'post_transform') === 'LOGISTIC';
  if (new Set(leafClass).size > 1) throw new Error('TreeSHAP here explains one score (binary classifiers and regressors).');

  const byTree = new Map<number, number[]>();
  treeIds.forEach((t, i) => byTree.set(t, [...(byTree.get(t) ?? []), i]));
  const weights = new Map<string, number>();
  leafTree.forEach((t, i) => weights.set(`${t}|${leafNode[i]}`, (weights.get(`${t}|${leafNode[i]}`) ?? 0) + leafWeight[i]!));

  let width = 0;
  const trees: Tree[] = [...byTree.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([treeId, rows]) => {
      const n = rows.length;
      const index = new Map(rows.map((r, k) => [nodeIds[r]!, k]));
      const t: Tree = {
        feature: new Int32Array(n),
        threshold: new Float32Array(n),
        yes: new Int32Array(n),
        no: new Int32Array(n),
        missingYes: new Uint8Array(n),
        cover: new Float64Array(n),
        value: new Float64Array(n),
        leaf: new Uint8Array(n),
        mode: new Array<string>(n),
        depth: 0,
      };
      rows.forEach((r, k) => {
        t.mode[k] = modes[r]!;
        t.cover[k] = hitrates[r]!;
        if (modes[r] === 'LEAF') {
          t.leaf[k] = 1;
          t.value[k] = weights.get(`${treeId}|${nodeIds[r]}`) ?? 0;
        } else {
          t.feature[k] = featureIds[r]!;
          width = Math.max(width, featureIds[r]! + 1);
          t.threshold[k] = values[r]!;
          t.yes[k] = index.get(trueIds[r]!)!;
          t.no[k] = index.get(falseIds[r]!)!;
          t.missingYes[k] = missing[r] ? 1 : 0;
        }
      });
      const depthOf = (k: number): number => (t.leaf[k] ? 0 : 1 + Math.max(depthOf(t.yes[k]!), depthOf(t.no[k]!)));
      t.depth = depthOf(index.get(0) ?? 0);
      return t;
    });
  const ensemble = { trees, base, logistic, width };
  cache.set(graph, ensemble);
  return ensemble;
}

/** The branch onnxruntime takes: float32 comparison, NaN follows the missing-value direction. */
function goesYes(t: Tree, k: number, v: number): boolean {
  if (Number.isNaN(v)) return t.missingYes[k] === 1;
  const x = Math.fround(v);
  const th = t.threshold[k]!;
  switch (t.mode[k]) {
    case 'BRANCH_LT':
      return x < th;
    case 'BRANCH_LEQ':
      return x <= th;
    case 'BRANCH_GT':
      return x > th;
    case 'BRANCH_GTE':
      return x >= th;
    case 'BRANCH_EQ':
      return x === th;
    default:
      return x !== th;
  }
}

export function ensembleMargin(e: TreeEnsemble, x: ArrayLike<number>): number {
  let m = e.base;
  for (const t of e.trees) {
    let k = 0;
    while (!t.leaf[k]) k = goesYes(t, k, x[t.feature[k]!]!) ? t.yes[k]! : t.no[k]!;
    m += t.value[k]!;
  }
  return m;
}

/** Cover-weighted expected margin (xgboost's pred_contribs bias). */
export function expectedMargin(e: TreeEnsemble): number {
  let m = e.base;
  for (const t of e.trees) {
    const ev = (k: number): number => (t.leaf[k] ? t.value[k]! : (t.cover[t.yes[k]!]! * ev(t.yes[k]!) + t.cover[t.no[k]!]! * ev(t.no[k]!)) / t.cover[k]!);
    m += ev(0);
  }
  return m;
}

interface PathElement {
  feature: number;
  zero: number;
  one: number;
  weight: number;
}

function extendPath(path: PathElement[], depth: number, zero: number, one: number, feature: number): void {
  path[depth] = { feature, zero, one, weight: depth === 0 ? 1 : 0 };
  for (let i = depth - 1; i >= 0; i--) {
    path[i + 1]!.weight += (one * path[i]!.weight * (i + 1)) / (depth + 1);
    path[i]!.weight = (zero * path[i]!.weight * (depth - i)) / (depth + 1);
  }
}

function unwindPath(path: PathElement[], depth: number, index: number): void {
  const { one, zero } = path[index]!;
  let next = path[depth]!.weight;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = path[i]!.weight;
      path[i]!.weight = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (path[i]!.weight * zero * (depth - i)) / (depth + 1);
    } else {
      path[i]!.weight = (path[i]!.weight * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    path[i]!.feature = path[i + 1]!.feature;
    path[i]!.zero = path[i + 1]!.zero;
    path[i]!.one = path[i + 1]!.one;
  }
}

function unwoundPathSum(path: PathElement[], depth: number, index: number): number {
  const { one, zero } = path[index]!;
  let next = path[depth]!.weight;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = path[i]!.weight - (tmp * zero * (depth - i)) / (depth + 1);
    } else if (zero !== 0) {
      total += path[i]!.weight / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function recurse(t: Tree, x: ArrayLike<number>, phi: Float64Array, k: number, parent: PathElement[], depth: number, zero: number, one: number, feature: number): void {
  const path = parent.slice(0, depth).map((e) => ({ ...e }));
  extendPath(path, depth, zero, one, feature);
  if (t.leaf[k]) {
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(path, depth, i);
      const e = path[i]!;
      phi[e.feature] = phi[e.feature]! + w * (e.one - e.zero) * t.value[k]!;
    }
    return;
  }
  const split = t.feature[k]!;
  const hot = goesYes(t, k, x[split]!) ? t.yes[k]! : t.no[k]!;
  const cold = hot === t.yes[k] ? t.no[k]! : t.yes[k]!;
  let incomingZero = 1;
  let incomingOne = 1;
  let d = depth;
  const seen = path.findIndex((e, i) => i <= d && e.feature === split);
  if (seen > 0) {
    incomingZero = path[seen]!.zero;
    incomingOne = path[seen]!.one;
    unwindPath(path, d, seen);
    d -= 1;
  }
  const cover = t.cover[k]!;
  recurse(t, x, phi, hot, path, d + 1, (t.cover[hot]! / cover) * incomingZero, incomingOne, split);
  recurse(t, x, phi, cold, path, d + 1, (t.cover[cold]! / cover) * incomingZero, 0, split);
}

/** Shapley values of the margin per input (path-dependent TreeSHAP) and the expected margin. */
export function treeShapMargin(e: TreeEnsemble, x: ArrayLike<number>): { phi: Float64Array; expected: number; margin: number } {
  const phi = new Float64Array(e.width);
  for (const t of e.trees) recurse(t, x, phi, 0, [], 0, 1, 1, -1);
  return { phi, expected: expectedMargin(e), margin: ensembleMargin(e, x) };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * An explainer of a tree ensemble from Shapley values of its margin (log-odds for a logistic
 * ensemble): the model's own output for x comes from the same batch as the what-if rows, and the
 * margin contributions are scaled into risk units so that they add up to risk - reference risk.
 */
function treeMarginExplainer(
  shapMargin: (e: TreeEnsemble, x: readonly number[], pkg: ModelPackage) => { phi: Float64Array; expected: number; margin: number },
  problems: (manifest: ModelManifest) => string[],
): Explainer {
  return {
    plan(pkg: ModelPackage, x: readonly number[]) {
      const e = treeEnsembleOf(pkg.graph);
      return {
        rows: Float64Array.from(x),
        count: 1,
        complete(risks: Float64Array) {
          const { phi, expected, margin } = shapMargin(e, x, pkg);
          const risk = risks[0]!;
          const referenceRisk = e.logistic ? sigmoid(expected) : expected;
          const dMargin = margin - expected;
          const scale = Math.abs(dMargin) > 1e-12 ? (risk - referenceRisk) / dMargin : e.logistic ? risk * (1 - risk) : 1;
          return {
            risk,
            referenceRisk,
            contributions: pkg.featureIds.map((feature, j) => ({ feature, contribution: (phi[j] ?? 0) * scale })),
          };
        },
      };
    },
    problems,
  };
}

registerExplainer(
  'tree-shap',
  treeMarginExplainer(
    (e, x) => treeShapMargin(e, x),
    (manifest) => (manifest.input.type === 'float32' || manifest.input.type === 'float64' ? [] : ['TreeSHAP needs a numeric tensor input.']),
  ),
);

/**
 * Interventional Shapley values of the margin against a background sample (Janzing et al. 2020;
 * Lundberg et al., Nat Mach Intell 2020, "interventional" TreeSHAP): v(S) is the mean over the
 * background rows of the margin with the inputs in S taken from x and the others from the row.
 * Computed exactly by enumerating the 2^k coalitions (k <= 12) with the trees walked in JS.
 * A package selects it with explanation.method "interventional-tree-shap" (and optionally
 * explanation.background); "tree-shap" is the path-dependent variant above.
 */
export function interventionalShapMargin(e: TreeEnsemble, x: ArrayLike<number>, background: readonly (readonly number[])[]): { phi: Float64Array; expected: number; margin: number } {
  const k = e.width;
  const n = 1 << k;
  const v = new Float64Array(n);
  const row = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    let sum = 0;
    for (const b of background) {
      for (let j = 0; j < k; j++) row[j] = s & (1 << j) ? x[j]! : b[j]!;
      sum += ensembleMargin(e, row);
    }
    v[s] = sum / background.length;
  }
  const fact = [1];
  for (let i = 1; i <= k; i++) fact[i] = fact[i - 1]! * i;
  const phi = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    let size = 0;
    for (let j = 0; j < k; j++) if (s & (1 << j)) size++;
    for (let j = 0; j < k; j++) {
      if (s & (1 << j)) continue;
      const w = (fact[size]! * fact[k - size - 1]!) / fact[k]!;
      phi[j] = phi[j]! + w * (v[s | (1 << j)]! - v[s]!);
    }
  }
  return { phi, expected: v[0]!, margin: v[n - 1]! };
}

const backgrounds = new WeakMap<ModelPackage, number[][]>();

/** The package's background sample (explanation.background names a JSON file of rows; null = missing). */
function backgroundOf(pkg: ModelPackage): number[][] {
  let rows = backgrounds.get(pkg);
  if (!rows) {
    const file = pkg.manifest.explanation.background ?? 'background.json';
    const raw = JSON.parse(readFileSync(join(pkg.dir, file), 'utf8')) as { rows: (number | null)[][] } | (number | null)[][];
    rows = (Array.isArray(raw) ? raw : raw.rows).map((r) => r.map((v) => (v === null ? Number.NaN : v)));
    backgrounds.set(pkg, rows);
  }
  return rows;
}

registerExplainer(
  'interventional-tree-shap',
  treeMarginExplainer(
    (e, x, pkg) => interventionalShapMargin(e, x, backgroundOf(pkg)),
    (manifest) => (manifest.features.length > 12 ? ['Interventional TreeSHAP here enumerates coalitions: at most 12 inputs.'] : []),
  ),
);
