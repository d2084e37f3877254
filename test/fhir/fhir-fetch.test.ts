import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle } from 'fhir/r4.js';
import { fetchQuery, type FetchLimits } from '../../src/fhir/fhir-fetch.ts';
import { sendJson, startMisbehavingServer } from './misbehaving-server.ts';

const TOKEN = 'token-not-for-strangers';

function limits(overrides: Partial<FetchLimits> = {}): FetchLimits {
  return { deadline: performance.now() + 2000, maxPages: 20, budget: { resources: 10_000 }, ...overrides };
}

function page(n: number, next?: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [{ resource: { resourceType: 'Condition', id: `c${n}`, subject: { reference: 'Patient/p' } } as never }],
    ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
  };
}

describe('fetchQuery', () => {
  test('a next link to another server is not followed, so the token never goes there', async () => {
    const stranger = await startMisbehavingServer((_req, res) => sendJson(res, 200, page(2)));
    const ehr = await startMisbehavingServer((_req, res) => sendJson(res, 200, page(1, `${stranger.url}/Condition?page=2`)));
    try {
      const result = await fetchQuery(ehr.url, 'Condition?patient=p', TOKEN, limits());
      assert.equal(result.status, 'unavailable');
      assert.equal(stranger.seen.length, 0);
      assert.equal(ehr.seen[0]!.authorization, `Bearer ${TOKEN}`);
    } finally {
      await ehr.close();
      await stranger.close();
    }
  });

  test('a next link outside the server\'s base path is not followed either', async () => {
    const ehr = await startMisbehavingServer((req, res, base) => sendJson(res, 200, page(1, `${new URL(base).origin}/admin/Condition?page=2`)));
    try {
      assert.equal((await fetchQuery(ehr.url, 'Condition?patient=p', TOKEN, limits())).status, 'unavailable');
      assert.equal(ehr.seen.length, 1);
    } finally {
      await ehr.close();
    }
  });

  test('endless next links stop at the page limit and keep what was read', async () => {
    const ehr = await startMisbehavingServer((req, res, base) => {
      const n = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
      sendJson(res, 200, page(n, `${base}/Condition?page=${n + 1}`));
    });
    try {
      const result = await fetchQuery(ehr.url, 'Condition?patient=p', undefined, limits({ maxPages: 7 }));
      assert.equal(result.status, 'fetched');
      assert.equal(ehr.seen.length, 7);
      assert.equal(result.resources.length, 7);
      assert.equal(result.status === 'fetched' && result.truncated, true);
      assert.equal(ehr.seen[0]!.authorization, undefined);
    } finally {
      await ehr.close();
    }
  });

  test('a next link that repeats itself is read once', async () => {
    const ehr = await startMisbehavingServer((_req, res, base) => sendJson(res, 200, page(1, `${base}/Condition?page=same`)));
    try {
      const result = await fetchQuery(ehr.url, 'Condition?patient=p', undefined, limits());
      assert.equal(result.status, 'fetched');
      assert.equal(ehr.seen.length, 2);
    } finally {
      await ehr.close();
    }
  });

  test('the resource budget is shared and caps what is kept', async () => {
    const ehr = await startMisbehavingServer((req, res, base) => {
      const n = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
      sendJson(res, 200, page(n, n < 10 ? `${base}/Condition?page=${n + 1}` : undefined));
    });
    try {
      const shared = limits({ budget: { resources: 4 } });
      const first = await fetchQuery(ehr.url, 'Condition?patient=p', undefined, shared);
      assert.equal(first.resources.length, 4);
      assert.equal(shared.budget.resources, 0);
      assert.equal(first.status === 'fetched' && first.truncated, true);
    } finally {
      await ehr.close();
    }
  });

  test('a read answered 404 is no data; a search answered 404 is unavailable', async () => {
    const ehr = await startMisbehavingServer((_req, res) => sendJson(res, 404, { resourceType: 'OperationOutcome', issue: [] }));
    try {
      assert.equal((await fetchQuery(ehr.url, 'Patient/p', undefined, limits())).status, 'no-data');
      assert.equal((await fetchQuery(ehr.url, 'Observation?patient=p', undefined, limits())).status, 'unavailable');
    } finally {
      await ehr.close();
    }
  });

  test('an absolute or protocol-relative query is refused without any request', async () => {
    const ehr = await startMisbehavingServer((_req, res) => sendJson(res, 200, page(1)));
    try {
      for (const q of [`${ehr.url}/Condition`, '//evil.example/Condition', 'file:///etc/passwd']) {
        assert.equal((await fetchQuery(ehr.url, q, TOKEN, limits())).status, 'unavailable', q);
      }
      assert.equal(ehr.seen.length, 0);
    } finally {
      await ehr.close();
    }
  });

  test('a spent budget makes no request at all', async () => {
    const ehr = await startMisbehavingServer((_req, res) => sendJson(res, 200, page(1)));
    try {
      const result = await fetchQuery(ehr.url, 'Condition?patient=p', undefined, limits({ deadline: performance.now() - 1 }));
      assert.equal(result.status, 'unavailable');
      assert.equal(ehr.seen.length, 0);
    } finally {
      await ehr.close();
    }
  });
});
