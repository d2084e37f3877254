/**
 * "Resolves only after COMMIT" made observable: a child process records feedback in a loop and
 * prints each card only after the await; it is SIGKILLed mid-stream and every printed card must be
 * in the store after reopening. PGlite runs with fsync off, so this shows survival of a process
 * kill, not of a power loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/store.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./support/feedback-writer.ts', import.meta.url));

test('every feedback acknowledged before a SIGKILL is in the store after reopening', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-durable-'));
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: { card: string; at: string }[] = [];
  let pending = '';
  let ready = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? ''; // a line cut by the kill was never fully acknowledged
        for (const line of lines) {
          if (line === 'ready') ready = true;
          else {
            const [card, at] = line.split(' ');
            acked.push({ card: card!, at: at! });
          }
        }
        // Kill mid-stream, well after the writer is in its stride.
        if (acked.length >= 300 && child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      void exited.then(({ signal }) => (signal === 'SIGKILL' ? resolve() : reject(new Error('the writer exited on its own'))));
    });
    const { signal } = await exited;
    assert.equal(signal, 'SIGKILL');
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(ready && acked.length >= 300, `the writer acknowledged ${acked.length} feedback items`);

  const store = await openStore({ dataDir });
  try {
    const again = await store.recordFeedback('durability', acked.map((a) => ({ card: a.card, outcome: 'accepted' as const, outcomeTimestamp: a.at })));
    assert.deepEqual(again, { inserted: 0, duplicates: acked.length }, 'every acknowledged card uuid is already stored');
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
