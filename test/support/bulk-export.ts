/** Writes fixture bundles as a FHIR Bulk Data export: one NDJSON file per resource type, references as Type/id. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from 'fhir/r4.js';

export function writeBulkExport(bundles: Bundle[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bulk-'));
  const byType = new Map<string, string[]>();
  for (const b of bundles) {
    const ids = new Map((b.entry ?? []).map((e) => [e.fullUrl!, `${e.resource!.resourceType}/${e.resource!.id}`]));
    for (const e of b.entry ?? []) {
      const text = JSON.stringify(e.resource).replace(/"reference":"(urn:uuid:[^"]+)"/g, (m, ref: string) => (ids.has(ref) ? `"reference":"${ids.get(ref)}"` : m));
      const type = e.resource!.resourceType;
      byType.set(type, [...(byType.get(type) ?? []), text]);
    }
  }
  for (const [type, lines] of byType) writeFileSync(join(dir, `${type}.ndjson`), lines.join('\n') + '\n');
  return dir;
}
