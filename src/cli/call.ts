/** `riskcards call`: act as an EHR against a CDS service. */
import { readFileSync } from 'node:fs';
import type { Bundle, Resource } from 'fhir/r4.js';
import { fillPrefetch, hookCall, signClientJwt, type ClientKey } from '../client/cds-client.ts';

interface CallOptions {
  hook: string;
  patient?: string;
  bundle?: string;
  fhirServer?: string;
  prefetch: boolean;
  key?: string;
  iss: string;
  json?: boolean;
}

/** Prefetch from a local Bundle: each template gets the resources of the type it queries. */
function prefetchFromBundle(templates: Record<string, string>, resources: Resource[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(templates)) {
    const type = /^([A-Za-z]+)/.exec(template)?.[1];
    const matching = resources.filter((r) => r.resourceType === type);
    if (template.startsWith(`${type}/`)) out[key] = matching[0] ?? null;
    else out[key] = { resourceType: 'Bundle', type: 'searchset', total: matching.length, ...(matching.length ? { entry: matching.map((resource) => ({ resource })) } : {}) };
  }
  return out;
}

export async function runCall(serviceUrl: string, opts: CallOptions): Promise<number> {
  const url = new URL(serviceUrl);
  const base = url.origin + url.pathname.replace(/\/cds-services\/.*$/, '');
  const serviceId = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  const key: ClientKey | undefined = opts.key ? JSON.parse(readFileSync(opts.key, 'utf8')) : undefined;
  const auth = async (path: string): Promise<Record<string, string>> => (key ? { authorization: `Bearer ${await signClientJwt(key, { iss: opts.iss, aud: `${base}${path}` })}` } : {});

  const discovery = await fetch(`${base}/cds-services`, { headers: await auth('/cds-services') });
  if (!discovery.ok) {
    process.stderr.write(`Discovery at ${base}/cds-services answered HTTP ${discovery.status}.\n`);
    return 1;
  }
  const service = ((await discovery.json()) as { services: { id: string; hook: string; prefetch?: Record<string, string> }[] }).services.find((s) => s.id === serviceId);
  if (!service) {
    process.stderr.write(`The service lists no "${serviceId}".\n`);
    return 1;
  }

  let patientId = opts.patient;
  let prefetch: Record<string, unknown> | undefined;
  if (opts.bundle) {
    const bundle = JSON.parse(readFileSync(opts.bundle, 'utf8')) as Bundle;
    const resources = (bundle.entry ?? []).map((e) => e.resource!).filter(Boolean);
    patientId ??= resources.find((r) => r.resourceType === 'Patient')?.id;
    if (opts.prefetch) prefetch = prefetchFromBundle(service.prefetch ?? {}, resources);
  } else if (opts.prefetch && opts.fhirServer && patientId) {
    prefetch = await fillPrefetch(opts.fhirServer, service.prefetch ?? {}, { userId: 'Practitioner/riskcards-cli', patientId });
  }
  if (!patientId) {
    process.stderr.write('Give --patient <id> or --bundle <file>.\n');
    return 1;
  }
  const body = hookCall(opts.hook ?? service.hook, patientId, { userId: 'Practitioner/riskcards-cli', ...(opts.fhirServer ? { fhirServer: opts.fhirServer } : {}), ...(prefetch ? { prefetch } : {}) });
  const path = `/cds-services/${encodeURIComponent(serviceId)}`;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await auth(path)) }, body: JSON.stringify(body) });
  const text = await res.text();
  if (opts.json || !res.ok) {
    process.stdout.write(`${text}\n`);
    return res.ok ? 0 : 1;
  }
  const cards = (JSON.parse(text) as { cards: { summary: string; indicator: string; detail?: string }[] }).cards;
  if (!cards.length) process.stdout.write('No cards.\n');
  for (const c of cards) process.stdout.write(`[${c.indicator}] ${c.summary}\n\n${c.detail ?? ''}\n\n`);
  return 0;
}
