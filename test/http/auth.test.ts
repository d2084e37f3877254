import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import request from 'supertest';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { allowedFhirServer, createClientVerifier, requireClientJwt, type ClientVerifierOptions, type ReplayGuard } from '../../src/http/auth.ts';
import { TrustedClientsError, loadTrustedClients, parseTrustedClients, keyFitsAlgorithm, type TrustedClient } from '../../src/http/trusted-clients.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { createLogger } from '../../src/observe/logger.ts';

const FIXTURES = new URL('../fixtures/auth/', import.meta.url);
const PUBLIC_URL = 'https://riskcards.test';
const SERVICE_PATH = '/cds-services/ascvd-10y';
const ISS_A = 'https://ehr-a.example'; // keys by jku
const ISS_B = 'https://ehr-b.example'; // inline keys

type Alg = 'ES384' | 'ES256' | 'RS384' | 'RS256';
interface SigningKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  spki: string;
}

async function signingKey(alg: Alg, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg }, spki: await exportSPKI(publicKey) };
}

/** A JWK Set server on loopback that counts what it is asked. */
interface JwksServer {
  url: (path: string) => string;
  hits: Map<string, number>;
  total(): number;
  serve: Map<string, object>;
  close(): Promise<void>;
}

async function jwksServer(): Promise<JwksServer> {
  const hits = new Map<string, number>();
  const serve = new Map<string, object>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = serve.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    serve,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function memoryReplay(): ReplayGuard & { seen: Map<string, Date> } {
  const seen = new Map<string, Date>();
  return {
    seen,
    async rememberJti(iss, jti, expiresAt) {
      const k = `${iss}\u0000${jti}`;
      if (seen.has(k)) return false;
      seen.set(k, expiresAt);
      return true;
    },
  };
}

function memoryLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger('warn', sink), lines };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let keyA384: SigningKey, keyA256rsa: SigningKey, keyB256: SigningKey, keyB384rsa: SigningKey, keyStranger: SigningKey;
let jku: JwksServer;
let evil: JwksServer;
let clients: TrustedClient[];
let t = Date.UTC(2025, 0, 15, 12, 0, 0);
const now = () => new Date(t);
const nowSec = () => Math.floor(t / 1000);

interface TokenOptions {
  key?: SigningKey;
  alg?: string;
  kid?: string | null;
  jku?: string | null;
  claims?: Record<string, unknown>;
  drop?: string[];
}

/** Signs a CDS Hooks client JWT; by default a valid one from client A for SERVICE_PATH. */
async function token(o: TokenOptions = {}): Promise<string> {
  const key = o.key ?? keyA384;
  const isA = key === keyA384 || key === keyA256rsa;
  const header: Record<string, unknown> = { alg: o.alg ?? key.alg, typ: 'JWT' };
  const kid = o.kid === undefined ? key.kid : o.kid;
  if (kid !== null) header.kid = kid;
  const jkuHeader = o.jku === undefined ? (isA ? jku.url('/a/jwks.json') : undefined) : o.jku;
  if (jkuHeader) header.jku = jkuHeader;
  const payload: Record<string, unknown> = {
    iss: isA ? ISS_A : ISS_B,
    sub: 'client-app-1',
    aud: PUBLIC_URL + SERVICE_PATH,
    iat: nowSec(),
    exp: nowSec() + 300,
    jti: randomUUID(),
    ...o.claims,
  };
  for (const d of o.drop ?? []) delete payload[d];
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

function buildApp(opts: Partial<ClientVerifierOptions> = {}) {
  const { log, lines } = memoryLog();
  const verify = createClientVerifier({ clients, publicUrl: PUBLIC_URL, replay: memoryReplay(), now, ...opts });
  const app: Express = express();
  app.use('/cds-services', requireClientJwt(verify, log));
  app.get('/cds-services', (_req, res) => {
    res.json(res.locals.client);
  });
  app.post('/cds-services/:id', (_req, res) => {
    res.json(res.locals.client);
  });
  app.options('/cds-services/:id', (_req, res) => {
    res.status(204).end();
  });
  app.use(errorHandler(log, '1 KB'));
  return { app, lines };
}

before(async () => {
  [keyA384, keyA256rsa, keyB256, keyB384rsa, keyStranger] = await Promise.all([
    signingKey('ES384', 'a-es384'),
    signingKey('RS256', 'a-rs256'),
    signingKey('ES256', 'b-es256'),
    signingKey('RS384', 'b-rs384'),
    signingKey('ES384', 'a-es384'), // same kid as A's key, different key
  ]);
  jku = await jwksServer();
  evil = await jwksServer();
  jku.serve.set('/a/jwks.json', { keys: [keyA384.publicJwk, keyA256rsa.publicJwk] });
  evil.serve.set('/jwks.json', { keys: [keyStranger.publicJwk] });
  clients = parseTrustedClients(
    [
      { iss: ISS_A, jku: [jku.url('/a/jwks.json')] },
      { iss: ISS_B, jwks: { keys: [keyB256.publicJwk, keyB384rsa.publicJwk] }, tenant: 'clinic-b', fhirServers: ['https://ehr-b.example/fhir/'] },
    ],
    'test clients',
  );
});

after(async () => {
  await jku.close();
  await evil.close();
});

describe('requireClientJwt turns every forged, stale or misdirected token away with an empty 401', () => {
  // [behaviour, Authorization header, the reason that must be logged]
  const attacks: [string, () => Promise<string | undefined>, RegExp][] = [
    ['no Authorization header', async () => undefined, /^no Authorization header$/],
    ['an Authorization header that is not Bearer', async () => 'Basic dXNlcjpwdw==', /not "Bearer <JWT>"/],
    ['a Bearer header with no token', async () => 'Bearer ', /not "Bearer <JWT>"/],
    ['a Bearer token that is not a JWS', async () => 'Bearer not-a-jwt', /not a compact JWS/],
    ['a token whose segments are not JSON', async () => 'Bearer aGVsbG8.d29ybGQ.c2ln', /cannot be decoded as a JWT/],
    [
      'alg none',
      async () => {
        const [, payload] = (await token()).split('.');
        return `Bearer ${b64({ alg: 'none', typ: 'JWT', kid: keyA384.kid, jku: jku.url('/a/jwks.json') })}.${payload}.`;
      },
      /alg "none" is not one of/,
    ],
    [
      "HS256 signed with the client's public key as the HMAC secret",
      async () => {
        const head = b64({ alg: 'HS256', typ: 'JWT', kid: keyB256.kid });
        const body = b64({ iss: ISS_B, aud: PUBLIC_URL + SERVICE_PATH, iat: nowSec(), exp: nowSec() + 300, jti: randomUUID() });
        const sig = createHmac('sha256', keyB256.spki).update(`${head}.${body}`).digest('base64url');
        return `Bearer ${head}.${body}.${sig}`;
      },
      /alg "HS256" is not one of/,
    ],
    ['an expired token', async () => `Bearer ${await token({ claims: { iat: nowSec() - 600, exp: nowSec() - 120 } })}`, /ERR_JWT_EXPIRED/],
    ['a token not yet valid (nbf in the future)', async () => `Bearer ${await token({ claims: { nbf: nowSec() + 300, exp: nowSec() + 600 } })}`, /"nbf" claim/],
    ['a token issued in the future (iat)', async () => `Bearer ${await token({ claims: { iat: nowSec() + 300, exp: nowSec() + 600 } })}`, /issued in the future/],
    ['a token that lives longer than an hour', async () => `Bearer ${await token({ claims: { exp: nowSec() + 7200 } })}`, /lives 7200 s, more than 3600 s/],
    ['a token without exp', async () => `Bearer ${await token({ drop: ['exp'] })}`, /missing required "exp"/],
    ['a token without jti', async () => `Bearer ${await token({ drop: ['jti'] })}`, /missing required "jti"/],
    ['a token for another endpoint (wrong aud)', async () => `Bearer ${await token({ claims: { aud: `${PUBLIC_URL}/cds-services/other` } })}`, /aud does not name this endpoint/],
    ['a token for another host (wrong aud)', async () => `Bearer ${await token({ claims: { aud: `https://elsewhere.test${SERVICE_PATH}` } })}`, /aud does not name this endpoint/],
    ['a token from an unknown iss', async () => `Bearer ${await token({ claims: { iss: 'https://stranger.example' } })}`, /is not a trusted client/],
    [
      'a token whose jku the client did not list',
      async () => `Bearer ${await token({ key: keyStranger, claims: { iss: ISS_A }, jku: evil.url('/jwks.json') })}`,
      /jku .* is not one that trusted client https:\/\/ehr-a\.example lists/,
    ],
    ['a token of a jku client without a jku header', async () => `Bearer ${await token({ jku: null })}`, /has no jku header/],
    [
      'a tampered payload',
      async () => {
        const [h, p, sig] = (await token()).split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
        return `Bearer ${h}.${b64({ ...claims, sub: 'admin' })}.${sig}`;
      },
      /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
    ],
    ['a token without kid', async () => `Bearer ${await token({ kid: null })}`, /has no kid header/],
    ['a token naming a kid of another client', async () => `Bearer ${await token({ key: keyB256, claims: { iss: ISS_A }, jku: jku.url('/a/jwks.json') })}`, /no key in the JWK Set .* has kid "b-es256"/],
    ['a token whose tenant differs from the configured one', async () => `Bearer ${await token({ key: keyB256, claims: { tenant: 'clinic-x' } })}`, /names a tenant other than/],
    [
      'a signature by another key under a trusted kid',
      async () => `Bearer ${await token({ key: keyStranger, claims: { iss: ISS_A }, jku: jku.url('/a/jwks.json') })}`,
      /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
    ],
  ];

  for (const [name, header, reason] of attacks) {
    test(`${name} is answered 401 with an empty body, and the reason (not the token) is logged`, async () => {
      const { app, lines } = buildApp();
      const evilBefore = evil.total();
      const h = await header();
      const req = request(app).post(SERVICE_PATH).send({ hook: 'patient-view' });
      const res = await (h === undefined ? req : req.set('Authorization', h));
      assert.equal(res.status, 401);
      assert.equal(res.text, '');
      assert.equal(res.headers['content-length'], '0');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.equal(evil.total(), evilBefore, 'the server of an unlisted jku was contacted');

      const rejections = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'CDS client JWT rejected');
      assert.equal(rejections.length, 1);
      assert.equal(rejections[0].level, 40); // pino "warn"
      assert.match(rejections[0].reason, reason);
      const tok = h?.replace(/^\S+\s*/, '') ?? '';
      for (const secret of [tok, tok.split('.')[2] ?? '']) {
        if (secret.length > 20) assert.ok(!lines.join('\n').includes(secret), 'the token appeared in the log');
      }
    });
  }
});

describe('requireClientJwt lets correctly signed tokens through', () => {
  const cases: [string, () => SigningKey, string][] = [
    ['ES384 (jku client)', () => keyA384, ISS_A],
    ['RS256 (jku client)', () => keyA256rsa, ISS_A],
    ['ES256 (inline client)', () => keyB256, ISS_B],
    ['RS384 (inline client)', () => keyB384rsa, ISS_B],
  ];
  for (const [name, key, iss] of cases) {
    test(`a token signed ${name} passes and names its client`, async () => {
      const { app } = buildApp();
      const tok = await token({ key: key() });
      const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${tok}`).send({});
      assert.equal(res.status, 200);
      assert.equal(res.body.iss, iss);
      assert.equal(res.body.sub, 'client-app-1');
      assert.equal(res.body.jti, JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString()).jti);
    });
  }

  test('the inline client\'s identity carries its tenant and FHIR allowlist', async () => {
    const { app } = buildApp();
    const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token({ key: keyB256 })}`).send({});
    assert.equal(res.status, 200);
    assert.equal(res.body.tenant, 'clinic-b');
    assert.deepEqual(res.body.fhirServers, ['https://ehr-b.example/fhir']);
  });

  test('discovery accepts a token whose aud is the discovery URL', async () => {
    const { app } = buildApp();
    const res = await request(app)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await token({ claims: { aud: `${PUBLIC_URL}/cds-services` } })}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.iss, ISS_A);
  });

  test('an aud differing only by a trailing slash, or inside an array, is accepted', async () => {
    const { app } = buildApp();
    for (const aud of [`${PUBLIC_URL}${SERVICE_PATH}/`, ['https://other.test/x', `${PUBLIC_URL}${SERVICE_PATH}`]]) {
      const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token({ claims: { aud } })}`).send({});
      assert.equal(res.status, 200, JSON.stringify(aud));
    }
  });

  test('a token just past exp but within the clock tolerance passes; beyond it does not', async () => {
    const { app } = buildApp({ clockToleranceSec: 30 });
    const within = await token({ claims: { iat: nowSec() - 300, exp: nowSec() - 20 } });
    const beyond = await token({ claims: { iat: nowSec() - 300, exp: nowSec() - 40 } });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${within}`).send({})).status, 200);
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${beyond}`).send({})).status, 401);
  });

  test('the query string is not part of the audience', async () => {
    const { app } = buildApp();
    const res = await request(app).post(`${SERVICE_PATH}?x=1`).set('Authorization', `Bearer ${await token()}`).send({});
    assert.equal(res.status, 200);
  });

  test('a CORS preflight (OPTIONS) passes without a token', async () => {
    const { app } = buildApp();
    const res = await request(app).options(SERVICE_PATH).set('Origin', 'http://localhost:8081').set('Access-Control-Request-Method', 'POST');
    assert.equal(res.status, 204);
  });
});

describe('replay protection', () => {
  test('the same token sent twice is accepted once and then refused', async () => {
    const replay = memoryReplay();
    const { app } = buildApp({ replay });
    const tok = await token();
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${tok}`).send({})).status, 200);
    const again = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${tok}`).send({});
    assert.equal(again.status, 401);
    assert.equal(again.text, '');
  });

  test('the jti is remembered until exp plus the clock tolerance', async () => {
    const replay = memoryReplay();
    const { app } = buildApp({ replay, clockToleranceSec: 45 });
    const exp = nowSec() + 200;
    const tok = await token({ claims: { exp, jti: 'jti-1' } });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${tok}`).send({})).status, 200);
    assert.deepEqual(replay.seen.get(`${ISS_A}\u0000jti-1`), new Date((exp + 45) * 1000));
  });

  test('a forged token does not consume a jti', async () => {
    const replay = memoryReplay();
    const { app } = buildApp({ replay });
    const forged = await token({ key: keyStranger, claims: { iss: ISS_A, jti: 'shared-jti' }, jku: jku.url('/a/jwks.json') });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${forged}`).send({})).status, 401);
    assert.equal(replay.seen.size, 0);
    const real = await token({ claims: { jti: 'shared-jti' } });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${real}`).send({})).status, 200);
  });

  test('a failing replay store is a server error, not a 401', async () => {
    const { app } = buildApp({
      replay: {
        rememberJti: async () => {
          throw new Error('database unavailable');
        },
      },
    });
    const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({});
    assert.equal(res.status, 500);
  });
});

describe('JWK Set fetching', () => {
  const path = '/a/jwks.json';
  before(() => {
    jku.serve.set(path, { keys: [keyA384.publicJwk, keyA256rsa.publicJwk] });
  });

  test('an unknown iss is refused before anything is fetched', async () => {
    const { app } = buildApp();
    const before = jku.total();
    const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token({ claims: { iss: 'https://nobody.example' } })}`).send({});
    assert.equal(res.status, 401);
    assert.equal(jku.total(), before);
  });

  test('the JWK Set is fetched once and cached across calls until its TTL runs out', async () => {
    const { app } = buildApp({ jwksCacheTtlSec: 300 });
    const start = jku.hits.get(path) ?? 0;
    for (let i = 0; i < 3; i++) {
      const res = await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token({ key: i % 2 ? keyA256rsa : keyA384 })}`).send({});
      assert.equal(res.status, 200);
    }
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, async () => request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({})),
    );
    assert.deepEqual(concurrent.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal((jku.hits.get(path) ?? 0) - start, 1);
    t += 301_000;
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({})).status, 200);
    assert.equal((jku.hits.get(path) ?? 0) - start, 2);
  });

  test('concurrent first calls share one fetch', async () => {
    const { app } = buildApp();
    const start = jku.hits.get(path) ?? 0;
    const res = await Promise.all(
      Array.from({ length: 8 }, async () => request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({})),
    );
    assert.ok(res.every((r) => r.status === 200));
    assert.equal((jku.hits.get(path) ?? 0) - start, 1);
  });

  test('an unknown kid refetches the set once, and a flood of unknown kids fetches no more', async () => {
    const { app } = buildApp({ jwksMinRefreshSec: 30 });
    const start = jku.hits.get(path) ?? 0;
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({})).status, 200);
    t += 31_000;
    const unknown = () => token({ kid: 'rotated-away' });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await unknown()}`).send({})).status, 401);
    assert.equal((jku.hits.get(path) ?? 0) - start, 2);
    const flood = await Promise.all(
      Array.from({ length: 20 }, async () => request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await unknown()}`).send({})),
    );
    assert.ok(flood.every((r) => r.status === 401 && r.text === ''));
    assert.equal((jku.hits.get(path) ?? 0) - start, 2);
  });

  test('a key added by rotation is found by the refetch its unknown kid triggers', async () => {
    const { app } = buildApp({ jwksMinRefreshSec: 30 });
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await token()}`).send({})).status, 200);
    const rotated = await signingKey('ES384', 'a-es384-2025');
    jku.serve.set(path, { keys: [keyA384.publicJwk, rotated.publicJwk] });
    try {
      t += 31_000;
      const tok = await new SignJWT({ iss: ISS_A, aud: PUBLIC_URL + SERVICE_PATH, iat: nowSec(), exp: nowSec() + 60, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES384', kid: rotated.kid, jku: jku.url(path) })
        .sign(rotated.privateKey);
      assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${tok}`).send({})).status, 200);
    } finally {
      jku.serve.set(path, { keys: [keyA384.publicJwk, keyA256rsa.publicJwk] });
    }
  });

  test('a JWK Set that cannot be fetched is retried only after the refresh interval', async () => {
    const missing = '/missing/jwks.json';
    const local: TrustedClient[] = parseTrustedClients([{ iss: 'https://ehr-c.example', jku: [jku.url(missing)] }], 'test');
    const { app } = buildApp({ clients: local, jwksMinRefreshSec: 30 });
    const tokC = () => new SignJWT({ iss: 'https://ehr-c.example', aud: PUBLIC_URL + SERVICE_PATH, iat: nowSec(), exp: nowSec() + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: 'k', jku: jku.url(missing) })
      .sign(keyA384.privateKey);
    for (let i = 0; i < 3; i++) assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await tokC()}`).send({})).status, 401);
    assert.equal(jku.hits.get(missing), 1);
    t += 31_000;
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${await tokC()}`).send({})).status, 401);
    assert.equal(jku.hits.get(missing), 2);
  });

  test('private and symmetric keys in a fetched set are never used', async () => {
    const p = '/leaky/jwks.json';
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    jku.serve.set(p, { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'leaky' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }] });
    const local = parseTrustedClients([{ iss: 'https://ehr-d.example', jku: [jku.url(p)] }], 'test');
    const { app } = buildApp({ clients: local });
    const jwt = await new SignJWT({ iss: 'https://ehr-d.example', aud: PUBLIC_URL + SERVICE_PATH, iat: nowSec(), exp: nowSec() + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: 'leaky', jku: jku.url(p) })
      .sign(privateKey);
    assert.equal((await request(app).post(SERVICE_PATH).set('Authorization', `Bearer ${jwt}`).send({})).status, 401);
  });
});

describe('parseTrustedClients', () => {
  const sandboxJwks = JSON.parse(readFileSync(new URL('cds-hooks-sandbox-jwks.json', FIXTURES), 'utf8'));

  test('the official CDS Hooks Sandbox key parses as an inline client that verifies ES384', () => {
    const [client] = parseTrustedClients([{ iss: 'https://sandbox.cds-hooks.org', jwks: sandboxJwks }], 'sandbox');
    assert.equal(client!.iss, 'https://sandbox.cds-hooks.org');
    assert.equal(client!.jwks!.keys.length, 1);
    const key = client!.jwks!.keys[0]!;
    assert.equal(key.kid, '44823f3d-0b01-4a6c-a80e-b9d3e8a7226f');
    assert.ok(keyFitsAlgorithm(key, 'ES384'));
    assert.ok(!keyFitsAlgorithm(key, 'ES256'));
  });

  test('a trusted clients file loads, with FHIR server URLs normalised', () => {
    const loaded = loadTrustedClients(new URL('trusted-clients.json', FIXTURES).pathname);
    assert.deepEqual(loaded.map((c) => c.iss), ['https://sandbox.cds-hooks.org', 'https://ehr.example']);
    assert.deepEqual(loaded[0]!.fhirServers, ['http://localhost:8083/fhir']);
    assert.deepEqual(loaded[1]!.fhirServers, ['https://ehr.example/fhir/r4']);
    assert.deepEqual(loaded[1]!.jku, ['https://ehr.example/.well-known/jwks.json']);
    assert.equal(loaded[1]!.tenant, 'clinic-1');
    assert.ok(Object.isFrozen(loaded) && Object.isFrozen(loaded[0]));
  });

  test('an unreadable or non-JSON file is refused with a sentence naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-auth-'));
    const bad = join(dir, 'clients.json');
    writeFileSync(bad, '[{"iss": ');
    assert.throws(() => loadTrustedClients(bad), (e: unknown) => e instanceof TrustedClientsError && /clients\.json is not valid JSON/.test(e.message));
    assert.throws(() => loadTrustedClients(join(dir, 'absent.json')), (e: unknown) => e instanceof TrustedClientsError && /absent\.json cannot be read \(ENOENT\)/.test(e.message));
  });

  const ec = sandboxJwks.keys[0];
  const { privateKey: ecPrivate } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { publicKey: smallRsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ok = { iss: 'https://ok.example', jku: ['https://ok.example/jwks'] };
  const invalid: [string, unknown, RegExp][] = [
    ['a document that is not an array', { clients: [] }, /^f: must be a JSON array/],
    ['an empty list', [], /lists no trusted clients/],
    ['a plain-http jku', [ok, { iss: 'https://x', jku: ['http://x.example/jwks'] }], /^f: trusted client 2 \(iss https:\/\/x\): jku\[0\] must be an https URL/],
    ['a jku that is not a URL', [{ iss: 'https://x', jku: ['jwks.json'] }], /trusted client 1 \(iss https:\/\/x\): jku\[0\] must be an https URL/],
    ['an inline private key', [{ iss: 'https://x', jwks: { keys: [{ ...ecPrivate.export({ format: 'jwk' }), kid: 'k' }] } }], /jwks\.keys\[0\] contains private key material \("d"\)/],
    ['a symmetric key', [{ iss: 'https://x', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }] } }], /jwks\.keys\[0\] is a symmetric key \(kty "oct"\)/],
    ['an RSA key under 2048 bits', [{ iss: 'https://x', jwks: { keys: [{ ...smallRsa.export({ format: 'jwk' }), kid: 'k' }] } }], /shorter than 2048 bits/],
    ['a key without kid', [{ iss: 'https://x', jwks: { keys: [{ ...ec, kid: undefined }] } }], /jwks\.keys\[0\]\.kid must be a non-empty string/],
    ['a key whose alg does not fit its curve', [{ iss: 'https://x', jwks: { keys: [{ ...ec, alg: 'ES256' }] } }], /jwks\.keys\[0\]\.alg does not fit curve P-384/],
    ['a key for an HMAC alg', [{ iss: 'https://x', jwks: { keys: [{ ...ec, alg: 'HS256' }] } }], /jwks\.keys\[0\]\.alg must be one of ES384, RS384, ES256, RS256/],
    ['a point not on the curve', [{ iss: 'https://x', jwks: { keys: [{ ...ec, x: ec.y }] } }], /jwks\.keys\[0\] is not a valid EC public key/],
    ['both jku and jwks', [{ iss: 'https://x', jku: ['https://x/j'], jwks: sandboxJwks }], /give exactly one of "jku"/],
    ['neither jku nor jwks', [{ iss: 'https://x' }], /give exactly one of "jku"/],
    ['an unknown field', [{ ...ok, jwk: {} }], /unknown field "jwk"/],
    ['a missing iss', [{ jku: ['https://x/j'] }], /^f: trusted client 1: iss must be a non-empty string/],
    ['a repeated iss', [ok, ok], /trusted client 2 \(iss https:\/\/ok\.example\): iss is already used by trusted client 1/],
    ['a plain-http FHIR server', [{ ...ok, fhirServers: ['http://ehr.example/fhir'] }], /fhirServers\[0\] must be an https URL/],
    ['a FHIR server with credentials', [{ ...ok, fhirServers: ['https://u:p@ehr.example/fhir'] }], /fhirServers\[0\] must not contain a user name or password/],
    ['an empty tenant', [{ ...ok, tenant: '' }], /tenant must be a non-empty string/],
  ];
  for (const [name, json, message] of invalid) {
    test(`${name} is refused with a sentence naming the entry and field`, () => {
      assert.throws(
        () => parseTrustedClients(json, 'f'),
        (e: unknown) => e instanceof TrustedClientsError && e.problems.some((p) => message.test(p)),
      );
    });
  }

  test('every problem in a file is reported at once', () => {
    try {
      parseTrustedClients([{ iss: 'https://a', jku: ['http://a.example/'] }, { iss: 'https://b', jwks: { keys: [{ kty: 'oct', k: 'eA', kid: 'k' }] } }], 'f');
      assert.fail('expected a TrustedClientsError');
    } catch (e) {
      assert.ok(e instanceof TrustedClientsError);
      assert.equal(e.problems.length, 2);
    }
  });
});

describe('allowedFhirServer keeps the service from calling servers nobody listed', () => {
  const client = { iss: ISS_B, jti: 'j', fhirServers: ['https://ehr.example/fhir'] };
  const on = { devLoopbackOnly: false, extraAllowed: [] };
  const table: [string, boolean][] = [
    ['https://ehr.example/fhir', true],
    ['https://ehr.example/fhir/', true],
    ['https://EHR.example:443/fhir', true],
    ['https://ehr.example/fhir/r4', true],
    ['https://ehr.example/fhir2', false],
    ['https://ehr.example/fhir/../admin', false],
    ['https://ehr.example/fhir/%2e%2e/admin', false],
    ['http://ehr.example/fhir', false],
    ['https://ehr.example:8443/fhir', false],
    ['https://user:pw@ehr.example/fhir', false],
    ['https://ehr.example.evil.test/fhir', false],
    ['https://ehr.example/fhir?_format=json', false],
    ['https://ehr.example/fhir#x', false],
    ['http://127.0.0.1:8080/fhir', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ];
  for (const [url, expected] of table) {
    test(`with authentication on, ${url} is ${expected ? 'allowed' : 'refused'} for a client listing https://ehr.example/fhir`, () => {
      assert.equal(allowedFhirServer(client, url, on), expected);
    });
  }

  test('with no client and no allowlist nothing is allowed when authentication is on', () => {
    assert.equal(allowedFhirServer(undefined, 'https://ehr.example/fhir', on), false);
    assert.equal(allowedFhirServer(undefined, 'http://localhost:8080/fhir', on), false);
  });

  test('the deployment allowlist adds servers, and "*" is not a wildcard', () => {
    const opts = { devLoopbackOnly: false, extraAllowed: ['https://hapi.example/baseR4/', '*'] };
    assert.equal(allowedFhirServer(undefined, 'https://hapi.example/baseR4', opts), true);
    assert.equal(allowedFhirServer(client, 'https://hapi.example/baseR4/Patient', opts), true);
    assert.equal(allowedFhirServer(client, 'https://ehr.example/fhir', opts), true);
    assert.equal(allowedFhirServer(undefined, 'https://anything.example/fhir', opts), false);
  });

  const dev: [string, boolean][] = [
    ['http://127.0.0.1:8080/fhir', true],
    ['http://localhost:8083/fhir', true],
    ['http://[::1]:8080/fhir', true],
    ['http://127.1/fhir', true],
    ['http://10.0.0.1/fhir', false],
    ['http://169.254.169.254/latest/meta-data', false],
    ['http://localhost.evil.test/fhir', false],
    ['https://ehr.example/fhir', false],
  ];
  for (const [url, expected] of dev) {
    test(`with authentication off, ${url} is ${expected ? 'allowed (loopback)' : 'refused'}`, () => {
      assert.equal(allowedFhirServer(undefined, url, { devLoopbackOnly: true, extraAllowed: [] }), expected);
    });
  }

  test('with authentication off, a configured server is allowed besides loopback', () => {
    assert.equal(allowedFhirServer(undefined, 'https://hapi.example/baseR4', { devLoopbackOnly: true, extraAllowed: ['https://hapi.example/baseR4'] }), true);
  });
});
