/**
 * A small, fast evaluator for the part of FHIRPath that feature specs use: member navigation
 * (choice elements such as `value` resolved with the R4 model, as fhirpath.js does), a leading
 * resource type, `where(...)`, `exists()`, `empty()`, `first()`, `=` and `!=` against literals,
 * `and`, `or`, `not()` and parentheses. Under load, fhirpath.js's general engine (context
 * objects, type wrappers per node) was the largest cost of feature mapping; this evaluates the
 * same expressions on the plain JSON. Anything outside the subset is refused at compile time
 * (`undefined`), and the caller uses fhirpath.js for it. test/features/fhirpath-subset.test.ts
 * compares both engines on every path of every bundled model over every fixture resource.
 *
 * Semantics followed (FHIRPath N1, http://hl7.org/fhirpath/N1/): collections flatten on
 * navigation; `=` on an empty operand is empty; `and`/`or` are three-valued; `where` keeps the
 * items whose criteria are a single `true`.
 */
import r4 from 'fhirpath/fhir-context/r4/index.js';

type Json = unknown;
/** A node: its JSON value and its type path in the R4 model ("Observation.component", "Coding"), if known. */
interface Node {
  value: Json;
  path?: string;
}
type Eval = (input: Node[], root: Node) => Node[];

const model = r4 as unknown as {
  choiceTypePaths: Record<string, string[]>;
  path2Type: Record<string, string>;
  pathsDefinedElsewhere: Record<string, string>;
};

/** The model's path of element `name` under `parent` ("Observation.component.value"), if the model knows the parent. */
function elementPath(parent: string | undefined, name: string): string | undefined {
  if (parent === undefined) return undefined;
  const p = `${parent}.${name}`;
  return model.pathsDefinedElsewhere[p] ?? p;
}

/** The path a child's own elements hang from: inline backbone elements keep theirs, typed elements start at their type. */
function pathOfValue(element: string | undefined): string | undefined {
  if (element === undefined) return undefined;
  const type = model.path2Type[element];
  if (type === undefined) return undefined;
  return type === 'BackboneElement' || type === 'Element' ? element : type;
}

function navigate(input: Node[], name: string): Node[] {
  const out: Node[] = [];
  for (const n of input) {
    const v = n.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    const obj = v as Record<string, Json>;
    const full = elementPath(n.path, name);
    const choices = full === undefined ? undefined : model.choiceTypePaths[full];
    if (choices) {
      for (const t of choices) {
        const x = obj[`${name}${t[0]!.toUpperCase()}${t.slice(1)}`];
        // A valid resource has one value[x]; like fhirpath.js, the first type of the model's list wins.
        if (x !== undefined && x !== null) {
          push(out, x, isPrimitiveName(t) ? undefined : t);
          break;
        }
      }
      continue;
    }
    const x = obj[name];
    if (x !== undefined && x !== null) push(out, x, pathOfValue(full));
  }
  return out;
}

/** FHIR primitive types as they appear capitalised in choiceTypePaths. */
const PRIMITIVES = new Set(['Boolean', 'Integer', 'Decimal', 'String', 'Uri', 'Url', 'Canonical', 'Code', 'Id', 'Oid', 'Uuid', 'Markdown', 'Base64Binary', 'Instant', 'Date', 'DateTime', 'Time', 'PositiveInt', 'UnsignedInt']);
function isPrimitiveName(t: string): boolean {
  return PRIMITIVES.has(t);
}

function push(out: Node[], x: Json, path: string | undefined): void {
  if (Array.isArray(x)) {
    for (const item of x) if (item !== undefined && item !== null) out.push(path === undefined ? { value: item } : { value: item, path });
  } else out.push(path === undefined ? { value: x } : { value: x, path });
}

/** FHIRPath singleton evaluation for a boolean operand: true, false, or empty (undefined). */
function asBoolean(c: Node[]): boolean | undefined {
  if (c.length === 0) return undefined;
  if (c.length > 1) throw new Error('a collection of several items used as a boolean');
  const v = c[0]!.value;
  return typeof v === 'boolean' ? v : true;
}

const bool = (b: boolean | undefined): Node[] => (b === undefined ? [] : [{ value: b }]);

function equal(a: Node[], b: Node[]): boolean | undefined {
  if (!a.length || !b.length) return undefined;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.value;
    const y = b[i]!.value;
    if (typeof x === 'object' || typeof y === 'object') throw new Error('equality of complex values is outside the subset');
    if (x !== y) return false;
  }
  return true;
}

// ---- parser -------------------------------------------------------------------------------

type Token = { kind: 'id' | 'str' | 'num' | 'op'; text: string };

function tokenize(expr: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < expr.length && /[A-Za-z0-9_]/.test(expr[j]!)) j++;
      tokens.push({ kind: 'id', text: expr.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < expr.length && /[0-9.]/.test(expr[j]!)) j++;
      tokens.push({ kind: 'num', text: expr.slice(i, j) });
      i = j;
    } else if (c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < expr.length && expr[j] !== "'"; j++) {
        if (expr[j] === '\\') {
          const e = expr[++j];
          const map: Record<string, string> = { "'": "'", '"': '"', '`': '`', '\\': '\\', '/': '/', t: '\t', n: '\n', r: '\r', f: '\f' };
          if (e === undefined || !(e in map)) return undefined;
          s += map[e];
        } else s += expr[j];
      }
      if (j >= expr.length) return undefined;
      tokens.push({ kind: 'str', text: s });
      i = j + 1;
    } else if (expr.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: '!=' });
      i += 2;
    } else if ('.()='.includes(c)) {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else return undefined;
  }
  return tokens;
}

class Unsupported extends Error {}

/** Compiles `expr`, or returns undefined when it uses anything outside the subset. */
export function compileFhirPathSubset(expr: string): ((resource: unknown) => unknown[]) | undefined {
  const tokens = tokenize(expr);
  if (!tokens) return undefined;
  let pos = 0;
  const peek = (text?: string, kind?: Token['kind']) => {
    const t = tokens[pos];
    return t !== undefined && (text === undefined || t.text === text) && (kind === undefined || t.kind === kind);
  };
  const expect = (text: string) => {
    if (!peek(text, text.length && /^[a-z]/.test(text) ? 'id' : 'op')) throw new Unsupported(text);
    pos++;
  };

  const orExpr = (): Eval => {
    let left = andExpr();
    while (peek('or', 'id')) {
      pos++;
      const l = left;
      const r = andExpr();
      left = (input, root) => {
        const a = asBoolean(l(input, root));
        if (a === true) return bool(true);
        const b = asBoolean(r(input, root));
        if (b === true) return bool(true);
        return a === false && b === false ? bool(false) : [];
      };
    }
    return left;
  };
  const andExpr = (): Eval => {
    let left = eqExpr();
    while (peek('and', 'id')) {
      pos++;
      const l = left;
      const r = eqExpr();
      left = (input, root) => {
        const a = asBoolean(l(input, root));
        if (a === false) return bool(false);
        const b = asBoolean(r(input, root));
        if (b === false) return bool(false);
        return a === true && b === true ? bool(true) : [];
      };
    }
    return left;
  };
  const eqExpr = (): Eval => {
    const left = pathExpr();
    if (peek('=', 'op') || peek('!=', 'op')) {
      const negate = tokens[pos]!.text === '!=';
      pos++;
      const right = pathExpr();
      return (input, root) => {
        const e = equal(left(input, root), right(input, root));
        return bool(e === undefined ? undefined : negate ? !e : e);
      };
    }
    return left;
  };
  const term = (): Eval => {
    const t = tokens[pos];
    if (!t) throw new Unsupported('end');
    if (t.kind === 'str' || t.kind === 'num') {
      pos++;
      const value = t.kind === 'str' ? t.text : Number(t.text);
      return () => [{ value }];
    }
    if (t.kind === 'op' && t.text === '(') {
      pos++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (t.kind === 'id') {
      if (t.text === 'true' || t.text === 'false') {
        pos++;
        const value = t.text === 'true';
        return () => [{ value }];
      }
      if (['and', 'or', 'where', 'exists', 'empty', 'first', 'not'].includes(t.text) || tokens[pos + 1]?.text === '(') throw new Unsupported(t.text);
      pos++;
      const name = t.text;
      // A leading type name ("Observation.value") selects the input if it is of that resource type.
      if (/^[A-Z]/.test(name)) return (input) => input.filter((n) => (n.value as { resourceType?: unknown } | null)?.resourceType === name);
      return (input) => navigate(input, name);
    }
    throw new Unsupported(t.text);
  };
  const pathExpr = (): Eval => {
    let e = term();
    while (peek('.', 'op')) {
      pos++;
      const t = tokens[pos];
      if (!t || t.kind !== 'id') throw new Unsupported('.');
      const prev = e;
      if (tokens[pos + 1]?.text === '(') {
        const fn = t.text;
        pos += 2;
        if (fn === 'where') {
          const criteria = orExpr();
          expect(')');
          e = (input, root) => prev(input, root).filter((n) => asBoolean(criteria([n], root)) === true);
        } else if (fn === 'exists' || fn === 'empty' || fn === 'first' || fn === 'not') {
          expect(')');
          if (fn === 'exists') e = (input, root) => bool(prev(input, root).length > 0);
          else if (fn === 'empty') e = (input, root) => bool(prev(input, root).length === 0);
          else if (fn === 'first') e = (input, root) => prev(input, root).slice(0, 1);
          else
            e = (input, root) => {
              const b = asBoolean(prev(input, root));
              return bool(b === undefined ? undefined : !b);
            };
        } else throw new Unsupported(fn);
      } else {
        pos++;
        const name = t.text;
        e = (input, root) => navigate(prev(input, root), name);
      }
    }
    return e;
  };

  let compiled: Eval;
  try {
    compiled = orExpr();
    if (pos !== tokens.length) return undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return (resource) => {
    const type = (resource as { resourceType?: unknown } | null)?.resourceType;
    const root: Node = typeof type === 'string' && model.path2Type[`${type}.id`] !== undefined ? { value: resource, path: type } : { value: resource };
    return compiled([root], root).map((n) => n.value);
  };
}
