/**
 * Exact Shapley values of a model's prediction relative to a reference input, by enumerating
 * every coalition of the "free" inputs (those with a numeric reference value).
 *
 * Game: v(S) = f(z_S), where z_S takes x's value for the free inputs in S, the reference value
 * for the other free inputs, and x's value for the inputs held at the patient. Then
 *   phi_i = sum over S not containing i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S))
 * (Shapley 1953; the "baseline Shapley" of Sundararajan & Najmi, ICML 2020), so that
 *   sum_i phi_i = v(all) - v(none) = f(x) - f(reference).
 * All 2^k coalition rows go to the model in one batch.
 */

/** Most free inputs an exact explanation enumerates (2^12 = 4096 model rows). */
export const MAX_FREE_INPUTS = 12;

export interface CoalitionPlan {
  /** Row-major matrix of 2^k rows; row `mask` holds x for the free inputs whose bit is set. */
  rows: Float64Array;
  count: number;
  width: number;
  /** Column indices of the free inputs; bit t of a row's mask is free[t]. */
  free: number[];
}

export interface ShapleyValues {
  /** One value per input column; 0 for inputs held at the patient's value. */
  values: number[];
  /** f(x): the output of the coalition with every free input at the patient's value. */
  fx: number;
  /** f(reference): the output of the empty coalition. */
  fReference: number;
}

interface Tables {
  /** Shapley weight by coalition size: s! (k - s - 1)! / k!. */
  weightBySize: Float64Array;
  /** Size of each coalition mask. */
  sizeOfMask: Uint8Array;
}

const tablesByK = new Map<number, Tables>();

function tablesFor(k: number): Tables {
  let t = tablesByK.get(k);
  if (t) return t;
  const weightBySize = new Float64Array(Math.max(k, 1));
  // s! (k-s-1)! / k! = 1 / (k * C(k-1, s)); C built by the multiplicative formula stays exact for k <= 12.
  let binomial = 1;
  for (let s = 0; s < k; s++) {
    weightBySize[s] = 1 / (k * binomial);
    binomial = (binomial * (k - 1 - s)) / (s + 1);
  }
  const sizeOfMask = new Uint8Array(1 << k);
  for (let mask = 1; mask < sizeOfMask.length; mask++) sizeOfMask[mask] = sizeOfMask[mask >> 1]! + (mask & 1);
  t = { weightBySize, sizeOfMask };
  tablesByK.set(k, t);
  return t;
}

/** Column indices whose reference is a number (the inputs the explanation distributes over). */
export function freeInputs(reference: readonly (number | 'patient')[]): number[] {
  const free: number[] = [];
  reference.forEach((r, j) => {
    if (r !== 'patient') free.push(j);
  });
  return free;
}

/** The 2^k coalition rows for input x and a reference (a number, or "patient" to hold x's value). */
export function coalitionRows(x: readonly number[], reference: readonly (number | 'patient')[]): CoalitionPlan {
  if (x.length !== reference.length) {
    throw new Error(`The input has ${x.length} values but the reference has ${reference.length}.`);
  }
  const free = freeInputs(reference);
  const k = free.length;
  if (k > MAX_FREE_INPUTS) {
    throw new Error(`Exact Shapley values enumerate at most ${MAX_FREE_INPUTS} free inputs; this reference leaves ${k} free.`);
  }
  const width = x.length;
  const count = 1 << k;
  const rows = new Float64Array(count * width);
  const base = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    const r = reference[j]!;
    base[j] = r === 'patient' ? x[j]! : r;
  }
  for (let mask = 0; mask < count; mask++) {
    const offset = mask * width;
    rows.set(base, offset);
    for (let t = 0; t < k; t++) {
      if (mask & (1 << t)) {
        const j = free[t]!;
        rows[offset + j] = x[j]!;
      }
    }
  }
  return { rows, count, width, free };
}

/** Shapley values from the model outputs of a plan's rows (outputs[offset + mask] = v(mask)). */
export function shapleyFromOutputs(plan: CoalitionPlan, outputs: ArrayLike<number>, offset = 0): ShapleyValues {
  const k = plan.free.length;
  const values = new Array<number>(plan.width).fill(0);
  const full = plan.count - 1;
  const fx = outputs[offset + full]!;
  const fReference = outputs[offset]!;
  if (k === 0) return { values, fx, fReference };
  const { weightBySize, sizeOfMask } = tablesFor(k);
  for (let t = 0; t < k; t++) {
    const bit = 1 << t;
    let phi = 0;
    for (let mask = 0; mask < plan.count; mask++) {
      if (mask & bit) continue;
      phi += weightBySize[sizeOfMask[mask]!]! * (outputs[offset + (mask | bit)]! - outputs[offset + mask]!);
    }
    values[plan.free[t]!] = phi;
  }
  return { values, fx, fReference };
}

/** Exact Shapley values of f at x relative to `reference`, with every coalition evaluated in one call. */
export async function exactShapley(
  x: readonly number[],
  reference: readonly (number | 'patient')[],
  evaluate: (rows: number[][]) => Promise<ArrayLike<number>>,
): Promise<ShapleyValues> {
  const plan = coalitionRows(x, reference);
  const rows: number[][] = [];
  for (let r = 0; r < plan.count; r++) rows.push(Array.from(plan.rows.subarray(r * plan.width, (r + 1) * plan.width)));
  const outputs = await evaluate(rows);
  if (outputs.length !== plan.count) throw new Error(`The model returned ${outputs.length} outputs for ${plan.count} coalitions.`);
  return shapleyFromOutputs(plan, outputs);
}
