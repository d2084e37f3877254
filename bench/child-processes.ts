/**
 * The processes a benchmark run starts: the service (`node --import tsx src/main.ts`), the ceiling
 * server, and the load generator (autocannon's CLI in its own node process, so it does not share
 * an event loop with anything it measures). Every child is stopped by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The parent's environment without RiskCards settings (the service refuses unknown RISKCARDS_ names). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RISKCARDS_') && k !== 'DATABASE_URL' && k !== 'PORT') env[k] = v;
  return { ...env, ...extra };
}

export interface Child {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Child {
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    tail.push(...s.split('\n').filter(Boolean));
    if (tail.length > 20) tail.splice(0, tail.length - 20);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid!,
    child,
    stderrTail: () => tail.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export interface ServiceChild extends Child {
  url: string;
  /** Spawn to the first 200 from /readyz, as measured from outside. */
  spawnToReadyMs: number;
  /** The `readyMs` the service logs in its "ready" line (its own view, from process code start). */
  loggedReadyMs?: number;
}

export async function startServiceProcess(root: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServiceChild> {
  const port = await freePort();
  const started = performance.now();
  // What `npm start` runs: the built dist/main.js (bench/run.ts builds it first).
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: root,
    env: cleanEnv({ ...env, PORT: String(port), RISKCARDS_PUBLIC_URL: `http://127.0.0.1:${port}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c = track(child);
  let loggedReadyMs: number | undefined;
  // Read every log line (the pipe must be drained under load); keep only the ready line's timing.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (loggedReadyMs !== undefined || !line.includes('readyMs')) return;
    try {
      const v = JSON.parse(line) as { readyMs?: number };
      if (typeof v.readyMs === 'number') loggedReadyMs = v.readyMs;
    } catch {
      // not a JSON log line
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      const lines = c.stderrTail().split('\n');
      const cause = lines.filter((l) => /^(\w*Error\b|RiskCards did not start|- )/.test(l.trim())).join(' ') || lines.at(-1);
      throw new Error(`the service exited with code ${child.exitCode}: ${cause}`);
    }
    if (performance.now() > deadline) {
      await c.stop();
      throw new Error('the service was not ready after 90 s');
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  const spawnToReadyMs = performance.now() - started;
  // The ready line is written before the server answers, but stdout may lag a little.
  for (let i = 0; i < 50 && loggedReadyMs === undefined; i++) await sleep(10);
  return {
    ...c,
    url,
    spawnToReadyMs,
    get loggedReadyMs() {
      return loggedReadyMs;
    },
  };
}

export async function startCeilingProcess(root: string): Promise<Child & { url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'ceiling-server.ts'), '0'], { cwd: root, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  const c = track(child);
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the ceiling server did not start in 30 s')), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\S+)$/.exec(line);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the ceiling server exited with code ${code}: ${c.stderrTail()}`)));
  });
  return { ...c, url };
}

export interface LoadResult {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** autocannon in a second process; the body is sent from a file so it is read once. */
export async function runLoad(root: string, opts: { url: string; bodyFile: string; connections: number; durationSec: number }): Promise<LoadResult> {
  const cli = join(root, 'node_modules', 'autocannon', 'autocannon.js');
  const args = [cli, '-c', String(opts.connections), '-d', String(opts.durationSec), '-m', 'POST', '-H', 'content-type=application/json', '-i', opts.bodyFile, '-j', opts.url];
  const child = spawn(process.execPath, args, { cwd: root, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  const c = track(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((r) => child.once('exit', (x) => r(x)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line) throw new Error(`autocannon exited with code ${code}: ${c.stderrTail().slice(-400)}`);
  const r = JSON.parse(line) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return { reqPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, totalRequests: r.requests.total, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
}

/** Peak resident memory of a process: the highest VmRSS seen while polling, and the kernel's VmHWM. */
export function watchRss(pid: number, everyMs = 100): { stop(): { peakRssMb: number; hwmMb: number } } {
  let peak = 0;
  let hwm = 0;
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0));
      peak = Math.max(peak, rss);
    } catch {
      // the process is gone
    }
  };
  read();
  const t = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(t);
      read();
      return { peakRssMb: peak / 1024, hwmMb: hwm / 1024 };
    },
  };
}
