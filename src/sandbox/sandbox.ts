/**
 * `npm run sandbox`: everything an integration team needs to try RiskCards offline, on loopback:
 * a FHIR R4 server loaded with bundled Synthea patients, the CDS service (authentication on, the
 * sandbox EHR and the official CDS Hooks Sandbox as trusted clients), and an EHR simulator page.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from 'fhir/r4.js';
import { startFhirServer, type RunningFhirServer } from './fhir-server.ts';
import { shiftDates } from './shift-dates.ts';
import { startService, type RunningService } from '../main.ts';
import { createClientKey, fillPrefetch, hookCall, publicJwks, signClientJwt, type ClientKey } from '../client/cds-client.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PAGE_DIR = new URL('./', import.meta.url).pathname;
export const SANDBOX_EHR_ISS = 'urn:riskcards:sandbox-ehr';

export interface SandboxOptions {
  host?: string;
  servicePort?: number;
  ehrPort?: number;
  fhirPort?: number;
  patientsDir?: string;
  /** Move each patient's dates so their newest record is this many days old (default 14); null keeps the original dates. */
  shiftToDaysAgo?: number | null;
  /** Browser origins allowed to call the CDS service and the FHIR server (e.g. a local official CDS Hooks Sandbox). */
  allowOrigins?: string[];
  /** Extra environment for the CDS service (e.g. RISKCARDS_DATA_DIR). */
  serviceEnv?: Record<string, string>;
}

export interface RunningSandbox {
  serviceUrl: string;
  ehrUrl: string;
  fhirUrl: string;
  service: RunningService;
  fhir: RunningFhirServer;
  stop(): Promise<void>;
}

function newestDate(bundle: Bundle): number {
  let max = 0;
  for (const e of bundle.entry ?? []) {
    const r = e.resource as Record<string, any> | undefined;
    if (!r || r.resourceType === 'Patient') continue;
    for (const d of [r.effectiveDateTime, r.issued, r.authoredOn, r.recordedDate, r.onsetDateTime, r.performedPeriod?.start, r.performedDateTime]) {
      const t = typeof d === 'string' ? Date.parse(d) : NaN;
      if (t > max) max = t;
    }
  }
  return max;
}

export function loadSandboxBundles(dir: string, shiftToDaysAgo: number | null, now = Date.now()): Bundle[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const b = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Bundle;
      if (shiftToDaysAgo === null) return b;
      const delta = now - shiftToDaysAgo * 86_400_000 - newestDate(b);
      // Whole days, so that dates without a time stay on a day boundary.
      return shiftDates(b, Math.round(delta / 86_400_000) * 86_400_000);
    });
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<any> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page may call the CDS service and this server, and nothing else.
    'content-security-policy': "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
  });
  res.end(body);
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<RunningSandbox> {
  const host = opts.host ?? '127.0.0.1';
  const patientsDir = opts.patientsDir ?? join(ROOT, 'test/fixtures/synthea');
  const bundles = loadSandboxBundles(patientsDir, opts.shiftToDaysAgo === undefined ? 14 : opts.shiftToDaysAgo);
  const fhir = await startFhirServer({ host, port: opts.fhirPort ?? 8082, bundles, corsOrigins: ['https://sandbox.cds-hooks.org', ...(opts.allowOrigins ?? [])] });

  const ehrPort = opts.ehrPort ?? 8081;
  const key: ClientKey = await createClientKey();

  // Trusted clients: this sandbox's EHR (its fresh key) and the official CDS Hooks Sandbox.
  const official = JSON.parse(readFileSync(join(ROOT, 'config/trusted-clients.json'), 'utf8')) as Record<string, unknown>[];
  // The FHIR server as browsers may name it: by loopback address or by "localhost".
  const fhirServers = [fhir.url, fhir.url.replace('127.0.0.1', 'localhost')];
  const clients = [{ iss: SANDBOX_EHR_ISS, jwks: publicJwks(key), fhirServers }, ...official.map((c) => ({ ...c, fhirServers }))];
  const dir = mkdtempSync(join(tmpdir(), 'riskcards-sandbox-'));
  writeFileSync(join(dir, 'trusted-clients.json'), JSON.stringify(clients, null, 2));

  const page = readFileSync(join(PAGE_DIR, 'ehr-page.html'), 'utf8');
  const script = readFileSync(join(PAGE_DIR, 'ehr-page.js'));
  const markdownIt = readFileSync(join(ROOT, 'node_modules/markdown-it/dist/markdown-it.min.js'));
  let api: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | undefined;
  const ehr: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', page);
    if (req.method === 'GET' && url.pathname === '/ehr-page.js') return send(res, 200, 'text/javascript', script);
    if (req.method === 'GET' && url.pathname === '/vendor/markdown-it.min.js') return send(res, 200, 'text/javascript', markdownIt);
    if (url.pathname.startsWith('/api/') && api) {
      api(req, res, url).catch(() => send(res, 502, 'application/json', JSON.stringify({ error: 'the sandbox could not complete that step' })));
      return;
    }
    send(res, 404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    ehr.once('error', reject);
    ehr.listen(ehrPort, host, () => resolve());
  });
  const ehrAddress = ehr.address();
  const ehrUrl0 = `http://localhost:${typeof ehrAddress === 'object' && ehrAddress ? ehrAddress.port : ehrPort}`;

  const servicePort = opts.servicePort ?? 8080;
  let service: RunningService;
  try {
    service = await startService({
      PORT: String(servicePort),
      RISKCARDS_HOST: host,
      RISKCARDS_PUBLIC_URL: `http://localhost:${servicePort}`,
      RISKCARDS_TRUSTED_CLIENTS: join(dir, 'trusted-clients.json'),
      RISKCARDS_DATA_DIR: join(ROOT, 'data/sandbox'),
      RISKCARDS_CORS_ORIGINS: [ehrUrl0, ehrUrl0.replace('localhost', '127.0.0.1'), 'https://sandbox.cds-hooks.org', ...(opts.allowOrigins ?? [])].join(','),
      ...(opts.shiftToDaysAgo === null ? { RISKCARDS_NOW: new Date(Math.max(...bundles.map(newestDate)) + 86_400_000).toISOString() } : {}),
      ...opts.serviceEnv,
    });
  } catch (e) {
    // Nothing half-started stays behind (a test process would never exit).
    ehr.close();
    ehr.closeAllConnections();
    await fhir.close();
    throw e;
  }
  const address = service.server.address();
  const actualServicePort = typeof address === 'object' && address ? address.port : servicePort;
  const serviceUrl = `http://localhost:${actualServicePort}`;

  const token = (path: string) => signClientJwt(key, { iss: SANDBOX_EHR_ISS, aud: `${serviceUrl}${path}`, sub: 'sandbox-clinician' });


  api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === 'GET' && url.pathname === '/api/config') {
      const discovery = await fetch(`${serviceUrl}/cds-services`, { headers: { authorization: `Bearer ${await token('/cds-services')}` } }).then((r) => r.json());
      return send(res, 200, 'application/json', JSON.stringify({ serviceUrl, fhirUrl: fhir.url, services: discovery.services }));
    }
    if (req.method === 'GET' && url.pathname === '/api/patients') {
      const bundle = await fetch(`${fhir.url}/Patient?_count=200`).then((r) => r.json());
      const patients = (bundle.entry ?? []).map((e: any) => {
        const p = e.resource;
        const n = p.name?.[0];
        return { id: p.id, name: [n?.given?.join(' '), n?.family].filter(Boolean).join(' '), gender: p.gender, birthDate: p.birthDate };
      });
      return send(res, 200, 'application/json', JSON.stringify({ patients }));
    }
    if (req.method === 'POST' && url.pathname === '/api/prepare') {
      // Builds the exact request an EHR would send: body (with or without prefetch) and a signed JWT.
      const { serviceId, patientId, withPrefetch } = await readBody(req);
      const cfg = await fetch(`${serviceUrl}/cds-services`, { headers: { authorization: `Bearer ${await token('/cds-services')}` } }).then((r) => r.json());
      const svc = cfg.services.find((s: any) => s.id === serviceId);
      if (!svc) return send(res, 404, 'application/json', JSON.stringify({ error: 'unknown service' }));
      const context = { userId: 'Practitioner/sandbox-clinician', patientId: String(patientId) };
      const prefetch = withPrefetch && svc.prefetch ? await fillPrefetch(fhir.url, svc.prefetch, context) : undefined;
      const body = { ...hookCall(svc.hook, String(patientId), { userId: context.userId, fhirServer: fhir.url, ...(prefetch ? { prefetch } : {}) }) };
      const path = `/cds-services/${encodeURIComponent(serviceId)}`;
      return send(res, 200, 'application/json', JSON.stringify({ url: `${serviceUrl}${path}`, authorization: `Bearer ${await token(path)}`, body }));
    }
    if (req.method === 'POST' && url.pathname === '/api/token') {
      const { path } = await readBody(req);
      if (typeof path !== 'string' || !path.startsWith('/cds-services')) return send(res, 400, 'application/json', JSON.stringify({ error: 'path' }));
      return send(res, 200, 'application/json', JSON.stringify({ authorization: `Bearer ${await token(path)}` }));
    }
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  };

  return {
    serviceUrl,
    ehrUrl: ehrUrl0,
    fhirUrl: fhir.url,
    service,
    fhir,
    stop: async () => {
      await new Promise<void>((r) => ehr.close(() => r()));
      ehr.closeAllConnections();
      await service.stop();
      await fhir.close();
    },
  };
}
