/** The machine a run happened on, for the results history. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews everything. */
  loadAtStart: number;
  commit: string;
}

export function describeMachine(root: string): Machine {
  let commit = 'none yet';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // a repository without commits
  }
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: totalmem() / 1024 ** 3,
    os: `Linux ${release()}`,
    node: process.version,
    loadAtStart: loadavg()[0]!,
    commit,
  };
}
