/**
 * A FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/, NDJSON, one file per resource
 * type) made from the fixture bundles and replicated with fresh ids, so batch scoring runs over
 * thousands of patients. References become `Type/id` as a server would store them.
 */
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Bundle } from 'fhir/r4.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export interface BulkExport {
  dir: string;
  patients: number;
  resources: number;
  bytes: number;
}

/**
 * Writes ceil(patients / bundles) copies of every bundle. Copy k > 0 appends "-k<k>" to every id
 * the patient's own resources carry (and to references to them); resources shared between
 * patients (Organization, Practitioner) are written once.
 */
export async function writeBulkExport(dir: string, bundles: readonly Bundle[], patients: number): Promise<BulkExport> {
  const { bundleResources } = await import('../src/sandbox/bundle-resources.ts');
  const shared = new Set(['Organization', 'Practitioner', 'Location', 'Medication']);
  const perPatient: { ids: Set<string>; lines: Map<string, string> }[] = [];
  const sharedLines = new Map<string, Map<string, string>>();
  for (const b of bundles) {
    const ids = new Set<string>();
    const lines = new Map<string, string[]>();
    for (const r of bundleResources(b)) {
      const line = JSON.stringify(r);
      if (shared.has(r.resourceType)) {
        let byId = sharedLines.get(r.resourceType);
        if (!byId) sharedLines.set(r.resourceType, (byId = new Map()));
        byId.set(r.id!, line);
        continue;
      }
      ids.add(r.id!);
      let l = lines.get(r.resourceType);
      if (!l) lines.set(r.resourceType, (l = []));
      l.push(line);
    }
    perPatient.push({ ids, lines: new Map([...lines].map(([t, l]) => [t, `${l.join('\n')}\n`])) });
  }

  const fds = new Map<string, number>();
  const fd = (type: string) => {
    let f = fds.get(type);
    if (f === undefined) fds.set(type, (f = openSync(join(dir, `${type}.ndjson`), 'w')));
    return f;
  };
  let written = 0;
  let resources = 0;
  let bytes = 0;
  try {
    for (let k = 0; written < patients; k++) {
      for (const p of perPatient) {
        if (written >= patients) break;
        for (const [type, text] of p.lines) {
          const out = k === 0 ? text : text.replace(UUID, (id) => (p.ids.has(id) ? `${id}-k${k}` : id));
          bytes += writeSync(fd(type), out);
          resources += text.split('\n').length - 1;
        }
        written++;
      }
    }
    for (const [type, byId] of sharedLines) {
      const text = `${[...byId.values()].join('\n')}\n`;
      bytes += writeSync(fd(type), text);
      resources += byId.size;
    }
  } finally {
    for (const f of fds.values()) closeSync(f);
  }
  return { dir, patients: written, resources, bytes };
}

/** The baseline: read every NDJSON file of the export line by line and JSON.parse each line. */
export async function parseBulkExport(dir: string): Promise<number> {
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ndjson')).sort()) {
    for await (const line of createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity })) {
      if (!line) continue;
      const r = JSON.parse(line) as { resourceType?: string };
      if (r.resourceType) n++;
    }
  }
  return n;
}
