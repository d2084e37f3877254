import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, Observation, Resource } from 'fhir/r4.js';
import { loadBundle, resourcesOf } from '../support/fixtures.ts';
import { startFhirServer, type RunningFhirServer } from '../../src/sandbox/fhir-server.ts';

// A patient with many Observations and MedicationRequests, and one with allergies and no lipids.
const BIG = '4d56ac0a-c338-40eb-8bdd-32568b21a4e3';
const SMALL = '963dabe4-84e7-4751-b432-e34bdbdbde05';
const TOKEN = 'sandbox-token-for-tests';

let server: RunningFhirServer;
let secured: RunningFhirServer;

before(async () => {
  const bundles = [loadBundle(BIG), loadBundle(SMALL)];
  server = await startFhirServer({ bundles });
  secured = await startFhirServer({ bundles: [loadBundle(SMALL)], accessToken: TOKEN });
});
after(async () => {
  await server?.close();
  await secured?.close();
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(path.startsWith('http') ? path : `${server.url}/${path}`, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

/** Every page of a search, following next links as a client would. */
async function allPages(path: string): Promise<{ pages: Bundle[]; resources: Resource[] }> {
  const pages: Bundle[] = [];
  let url: string | undefined = `${server.url}/${path}`;
  while (url) {
    const { status, body } = await get(url);
    assert.equal(status, 200);
    pages.push(body);
    url = body.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
    assert.ok(pages.length < 100, 'paging must end');
  }
  return { pages, resources: pages.flatMap((p) => (p.entry ?? []).map((e) => e.resource!)) };
}

function fixture(patient: string, type: string): Resource[] {
  return resourcesOf(loadBundle(patient)).filter((r) => r.resourceType === type);
}

const ids = (rs: Resource[]) => rs.map((r) => r.id).sort();
const codes = (o: Observation) => (o.code.coding ?? []).map((c) => `${c.system}|${c.code}`);
const day = (o: Observation) => o.effectiveDateTime!.slice(0, 10);

describe('sandbox FHIR server', () => {
  test('reads a patient by its original id as application/fhir+json', async () => {
    const { status, type, body } = await get(`Patient/${BIG}`);
    assert.equal(status, 200);
    assert.match(type ?? '', /^application\/fhir\+json/);
    assert.equal(body.resourceType, 'Patient');
    assert.equal(body.id, BIG);
  });

  test('rewrites urn:uuid references between bundle entries to Type/id', async () => {
    const [first] = fixture(BIG, 'Observation') as Observation[];
    const { body } = await get(`Observation/${first!.id}`);
    assert.equal(body.subject.reference, `Patient/${BIG}`);
  });

  test('an unknown id is a 404 OperationOutcome', async () => {
    const { status, type, body } = await get('Patient/no-such-patient');
    assert.equal(status, 404);
    assert.match(type ?? '', /^application\/fhir\+json/);
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0].code, 'not-found');
  });

  test('an unknown resource type or path is a 404 OperationOutcome', async () => {
    for (const path of ['Nonsense?patient=1', 'Patient/1/extra/more']) {
      const { status, body } = await get(path);
      assert.equal(status, 404, path);
      assert.equal(body.resourceType, 'OperationOutcome');
    }
  });

  test('a search by patient (bare id or Patient/id) finds exactly that patient\'s resources', async () => {
    const expected = ids(fixture(BIG, 'Observation'));
    for (const patient of [BIG, `Patient/${BIG}`]) {
      const { pages, resources } = await allPages(`Observation?patient=${encodeURIComponent(patient)}`);
      assert.equal(pages[0]!.total, expected.length);
      assert.deepEqual(ids(resources), expected);
    }
    const other = await allPages(`Observation?patient=${SMALL}`);
    assert.deepEqual(ids(other.resources), ids(fixture(SMALL, 'Observation')));
  });

  test('a code search takes system|code and comma-separated lists', async () => {
    const wanted = ['http://loinc.org|2093-3', 'http://loinc.org|2085-9'];
    const expected = ids((fixture(BIG, 'Observation') as Observation[]).filter((o) => codes(o).some((c) => wanted.includes(c))));
    assert.ok(expected.length > 0);
    const { resources } = await allPages(`Observation?patient=${BIG}&code=${encodeURIComponent(wanted.join(','))}`);
    assert.deepEqual(ids(resources), expected);
    const none = await get(`Observation?patient=${BIG}&code=${encodeURIComponent('http://snomed.info/sct|2093-3')}`);
    assert.equal(none.body.total, 0);
  });

  test('a date search with ge and le keeps only resources inside the range', async () => {
    const all = fixture(BIG, 'Observation') as Observation[];
    const days = [...new Set(all.map(day))].sort();
    const [from, to] = [days[1]!, days[days.length - 2]!];
    const expected = ids(all.filter((o) => day(o) >= from && day(o) <= to));
    assert.ok(expected.length > 0 && expected.length < all.length);
    const { resources } = await allPages(`Observation?patient=${BIG}&date=ge${from}&date=le${to}`);
    assert.deepEqual(ids(resources), expected);
  });

  test('a status search filters MedicationRequests', async () => {
    const active = ids(fixture(BIG, 'MedicationRequest').filter((m) => (m as { status?: string }).status === 'active'));
    assert.ok(active.length > 0);
    const { resources } = await allPages(`MedicationRequest?patient=${BIG}&status=active`);
    assert.deepEqual(ids(resources), active);
  });

  test('_sort orders by date, descending with a minus sign', async () => {
    const down = (await allPages(`Observation?patient=${BIG}&_sort=-date&_count=40`)).resources as Observation[];
    const up = (await allPages(`Observation?patient=${BIG}&_sort=date&_count=40`)).resources as Observation[];
    const d = down.map((o) => o.effectiveDateTime!);
    const u = up.map((o) => o.effectiveDateTime!);
    assert.deepEqual(d, [...d].sort().reverse());
    assert.deepEqual(u, [...u].sort());
    assert.notDeepEqual(d, u);
  });

  test('_count pages the result with self, first, previous and next links that a client can follow', async () => {
    const total = fixture(BIG, 'Observation').length;
    const { pages, resources } = await allPages(`Observation?patient=${BIG}&_count=25`);
    assert.equal(pages.length, Math.ceil(total / 25));
    assert.ok(pages.every((p) => p.total === total && (p.entry?.length ?? 0) <= 25));
    assert.equal(new Set(resources.map((r) => r.id)).size, total);
    const rel = (p: Bundle) => (p.link ?? []).map((l) => l.relation).sort();
    assert.deepEqual(rel(pages[0]!), ['first', 'next', 'self']);
    assert.deepEqual(rel(pages[1]!), ['first', 'next', 'previous', 'self']);
    assert.deepEqual(rel(pages.at(-1)!), ['first', 'previous', 'self']);
    const prev = pages[1]!.link!.find((l) => l.relation === 'previous')!.url;
    assert.deepEqual(ids(((await get(prev)).body as Bundle).entry!.map((e) => e.resource!)), ids(pages[0]!.entry!.map((e) => e.resource!)));
    assert.ok(pages[0]!.entry!.every((e) => e.fullUrl === `${server.url}/Observation/${e.resource!.id}` && e.search?.mode === 'match'));
  });

  test('_count=0 answers the total with no entries and no next link', async () => {
    const { body } = await get(`Observation?patient=${BIG}&_count=0`);
    assert.equal(body.total, fixture(BIG, 'Observation').length);
    assert.equal(body.entry, undefined);
    assert.ok(!body.link.some((l: { relation: string }) => l.relation === 'next'));
  });

  test('POST _search with a form body answers like GET, URL and body parameters combined', async () => {
    const viaGet = await allPages(`Condition?patient=${BIG}`);
    const res = await fetch(`${server.url}/Condition/_search?_count=200`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ patient: BIG }).toString(),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Bundle;
    assert.equal(body.type, 'searchset');
    assert.deepEqual(ids(body.entry!.map((e) => e.resource!)), ids(viaGet.resources));
    assert.ok(body.link!.find((l) => l.relation === 'self')!.url.includes('patient='));
  });

  test('a JSON body on POST _search is refused with 415', async () => {
    const res = await fetch(`${server.url}/Condition/_search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"patient":"x"}' });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as Resource).resourceType, 'OperationOutcome');
  });

  test('unknown search parameters, bad dates, bad _count and bad ids are 400 OperationOutcomes', async () => {
    for (const query of ['Patient/%E0%A4%A', 'Patient/a%20b', 'Observation?bogus=1', 'Observation?date=notadate', 'Observation?_count=abc', 'Observation?_sort=bogus', 'Observation?subject.name=x']) {
      const { status, body } = await get(query);
      assert.equal(status, 400, query);
      assert.equal(body.resourceType, 'OperationOutcome', query);
      assert.equal(body.issue[0].severity, 'error');
    }
  });

  test('metadata is a CapabilityStatement listing the loaded types and their search parameters', async () => {
    const { status, body } = await get('metadata');
    assert.equal(status, 200);
    assert.equal(body.resourceType, 'CapabilityStatement');
    assert.equal(body.fhirVersion, '4.0.1');
    const types = body.rest[0].resource.map((r: { type: string }) => r.type);
    for (const t of ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Procedure', 'AllergyIntolerance']) assert.ok(types.includes(t), t);
    const obs = body.rest[0].resource.find((r: { type: string }) => r.type === 'Observation');
    const params = obs.searchParam.map((p: { name: string }) => p.name);
    for (const p of ['patient', 'code', 'date', 'status']) assert.ok(params.includes(p), p);
  });

  test('counts the HTTP requests it serves, errors included', async () => {
    const before = server.requests;
    await get('Patient/no-such-patient');
    await get(`Patient/${SMALL}`);
    assert.equal(server.requests, before + 2);
  });
});

describe('sandbox FHIR server and browsers', () => {
  test('answers CORS preflights and reads for listed origins only', async () => {
    const corsServer = await startFhirServer({ bundles: [loadBundle(SMALL)], corsOrigins: ['https://sandbox.cds-hooks.org'] });
    try {
      const preflight = (origin: string) =>
        fetch(`${corsServer.url}/Observation/_search`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
      const allowed = await preflight('https://sandbox.cds-hooks.org');
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://sandbox.cds-hooks.org');
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.equal(allowed.headers.get('access-control-allow-credentials'), null);
      const other = await preflight('https://evil.example');
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const read = await fetch(`${corsServer.url}/Patient/${SMALL}`, { headers: { origin: 'https://sandbox.cds-hooks.org' } });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('access-control-allow-origin'), 'https://sandbox.cds-hooks.org');
    } finally {
      await corsServer.close();
    }
  });
});

describe('sandbox FHIR server with a bearer token', () => {
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  test('refuses requests without the token, or with another, with 401', async () => {
    for (const init of [undefined, auth('wrong'), auth(`${TOKEN}x`), { headers: { authorization: TOKEN } }]) {
      const res = await fetch(`${secured.url}/Patient/${SMALL}`, init);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await res.json()) as Resource).resourceType, 'OperationOutcome');
    }
  });

  test('serves requests that carry the token, and metadata to anyone', async () => {
    const res = await fetch(`${secured.url}/Patient/${SMALL}`, auth(TOKEN));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Resource).id, SMALL);
    assert.equal((await fetch(`${secured.url}/metadata`)).status, 200);
  });
});
