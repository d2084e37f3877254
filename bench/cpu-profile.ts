/**
 * Reads a V8 .cpuprofile (written by `node --cpu-prof`): where the busy time goes, by function
 * (self time), by module or package, and inclusive time of the service's own functions.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  gcMs: number;
  selfByFunction: { name: string; ms: number }[];
  selfByModule: { name: string; ms: number }[];
  /** Functions under src/: time with the function anywhere on the stack. */
  inclusiveSrc: { name: string; ms: number }[];
}

/** Which module a frame belongs to: a file under src/, an npm package, node internals, or V8. */
function moduleOf(url: string, root: string): string {
  if (!url) return '(v8/native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (path.startsWith('node:')) return 'node built-in modules';
  if (path.startsWith(root)) return path.slice(root.length).replace(/^\//, '');
  return path;
}

export function summarizeCpuProfile(file: string, root: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const { url, functionName, lineNumber } = n.callFrame;
    if (!url) return functionName || '(anonymous)';
    const path = url.replace(/^file:\/\//, '');
    const nm = path.lastIndexOf('/node_modules/');
    const where = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : path.startsWith(root) ? path.slice(root.length + 1) : path;
    // tsx-compiled files report every function on line 1 (no source maps in the profile): omit it.
    return `${functionName || '(anonymous)'} ${where}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}`;
  };

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the following interval to sample i.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!)!;
    total += dt;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    if (fn === '(garbage collector)') gc += dt;
    const l = label(node);
    self.set(l, (self.get(l) ?? 0) + dt);
    const mod = fn.startsWith('(') ? fn : moduleOf(node.callFrame.url, root);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (!n.callFrame.url.includes('/src/') || n.callFrame.url.includes('/node_modules/')) continue;
      const k = label(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms }));
  return { totalMs: total, idleMs: idle, busyMs: total - idle, gcMs: gc, selfByFunction: sorted(self), selfByModule: sorted(modules), inclusiveSrc: sorted(inclusive) };
}
