// Copies Synthea patient bundles into test/fixtures/synthea, trimmed to what the service reads:
// Patient, Observation (codes below), Condition, MedicationRequest, Procedure, AllergyIntolerance. References to
// dropped resources (Encounter, Practitioner, Organization) are removed so that each bundle is
// self-contained. Usage: node scripts/trim-synthea-fixtures.mjs <synthea-dir> [<id> ...]
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const KEEP = new Set(['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Procedure', 'AllergyIntolerance']);
const DROP_FIELDS = ['encounter', 'context', 'requester', 'performer', 'serviceProvider', 'asserter', 'recorder',
  'generalPractitioner', 'managingOrganization', 'reasonReference', 'location', 'text'];
// Observations kept: the codes any bundled model reads (lipids, BP panels, BMI, height, weight,
// smoking status, glucose, HbA1c, creatinine, eGFR, urine albumin/creatinine) plus pain scores, so
// that searches by code have other results to filter out.
const OBS_CODES = new Set(['2093-3', '2085-9', '18262-6', '2571-8', '55284-4', '85354-9', '39156-5', '8302-2',
  '29463-7', '72166-2', '2339-0', '4548-4', '38483-4', '33914-3', '14959-1', '72514-3', '1558-6', '20438-8', '11996-6']);
const [src, ...ids] = process.argv.slice(2);
if (!src) throw new Error('usage: trim-synthea-fixtures.mjs <synthea-dir> [ids...]');
const out = new URL('../test/fixtures/synthea/', import.meta.url);
mkdirSync(out, { recursive: true });
const files = ids.length ? ids.map((id) => `${id}.json`) : readdirSync(src).filter((f) => f.endsWith('.json'));
for (const f of files) {
  const bundle = JSON.parse(readFileSync(join(src, f), 'utf8'));
  const entry = bundle.entry
    .filter((e) => KEEP.has(e.resource.resourceType))
    .filter((e) => e.resource.resourceType !== 'Observation' || e.resource.code.coding.some((c) => OBS_CODES.has(c.code)))
    .map((e) => {
      const r = { ...e.resource };
      for (const k of DROP_FIELDS) delete r[k];
      delete r.meta;
      if (r.resourceType === 'Patient') {
        // names and contact details are not needed by any model; keep a name so that the
        // log-scan test has a name to look for.
        delete r.telecom; delete r.address; delete r.identifier; delete r.communication; delete r.photo;
      }
      return { fullUrl: e.fullUrl, resource: r, request: e.request };
    });
  const text = '{"resourceType":"Bundle","type":"transaction","entry":[\n' + entry.map((e) => JSON.stringify(e)).join(',\n') + '\n]}\n';
  writeFileSync(new URL(f, out), text);
}
console.log(`wrote ${files.length} bundles`);
