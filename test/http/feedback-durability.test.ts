/**
 * A 200 on feedback means committed, end to end: the service itself is killed with SIGKILL during
 * a feedback load (4 concurrent clients) and every feedback it had acknowledged is found after
 * reopening its embedded store. (PGlite runs with fsync off: a process kill, not a power loss.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openStore } from '../../src/store/store.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

async function waitReady(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the service did not become ready');
}

test('SIGKILL of the service during a feedback load loses no acknowledged feedback', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-kill-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), RISKCARDS_AUTH: 'off', RISKCARDS_DATA_DIR: dataDir, RISKCARDS_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const acked: { card: string; at: string }[] = [];
  try {
    await waitReady(url, 90_000);
    const send = async () => {
      for (;;) {
        const item = { card: randomUUID(), outcome: 'accepted', outcomeTimestamp: new Date().toISOString() };
        let res: Response;
        try {
          res = await fetch(`${url}/cds-services/riskcards-ascvd-pce/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedback: [item] }) });
        } catch {
          return; // the service is gone
        }
        if (res.status !== 200) return;
        acked.push({ card: item.card, at: item.outcomeTimestamp });
      }
    };
    const load = Promise.all([send(), send(), send(), send()]);
    while (acked.length < 200) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await load;
  } finally {
    child.kill('SIGKILL');
  }
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  const store = await openStore({ dataDir });
  try {
    const again = await store.recordFeedback('riskcards-ascvd-pce', acked.map((a) => ({ card: a.card, outcome: 'accepted' as const, outcomeTimestamp: a.at })));
    assert.deepEqual(again, { inserted: 0, duplicates: acked.length }, 'every acknowledged feedback is already stored');
  } finally {
    await store.close();
  }
});
