/**
 * `riskcards score <bulk-export-dir>`: scores every patient of a FHIR Bulk Data export (NDJSON,
 * one file per resource type). Files are streamed line by line and only the resources the model
 * reads are kept (by resource type and code), so memory follows the relevant data, not the
 * export. Risks are computed in batches (one session.run per batch); explanations per patient.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Patient, Resource } from 'fhir/r4.js';
import { loadModelPackage, predictBatch, type ModelPackage } from '../models/model-package.ts';
import { categorize } from '../models/categories.ts';
import { explainPrediction } from '../explain/explain-prediction.ts';
import { extractInputs } from '../features/extract.ts';
import { checkApplicability, missingRequired } from '../features/applicability.ts';
import { codeMatcher, codesReadByModel } from '../features/feature-codes.ts';
import type { Input } from '../domain.ts';

interface ScoreOptions {
  model: string;
  modelsDir: string;
  format: string;
  out?: string;
  now?: string;
  batch: string;
}

export interface ScoreRow {
  patientId: string;
  status: 'scored' | 'not-applicable' | 'insufficient-data';
  risk?: number;
  category?: string;
  topFactors: string[];
  missing: string[];
  reasons: string[];
}

function patientIdOf(r: Record<string, any>): string | undefined {
  const ref: unknown = r.subject?.reference ?? r.patient?.reference;
  if (typeof ref !== 'string') return undefined;
  const m = /(?:^|\/)Patient\/([^/]+)$/.exec(ref) ?? /^urn:uuid:(.+)$/.exec(ref);
  return m?.[1];
}

async function* ndjson(file: string): AsyncGenerator<Record<string, any>> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    try {
      yield JSON.parse(line);
    } catch {
      throw new Error(`${file} line ${n} is not valid JSON.`);
    }
  }
}

/** Reads the export: patients and the resources the model needs, grouped by patient. */
export async function readBulkExport(dir: string, pkg: ModelPackage): Promise<Map<string, { patient: Patient; resources: Resource[] }>> {
  const patients = new Map<string, { patient: Patient; resources: Resource[] }>();
  const patientFile = join(dir, 'Patient.ndjson');
  if (!existsSync(patientFile)) throw new Error(`${patientFile} does not exist: a bulk export needs Patient.ndjson.`);
  for await (const p of ndjson(patientFile)) if (p.resourceType === 'Patient' && p.id) patients.set(p.id, { patient: p as Patient, resources: [] });
  for (const [type, refs] of codesReadByModel(pkg.manifest.features)) {
    const file = join(dir, `${type}.ndjson`);
    if (!existsSync(file)) continue;
    const matches = codeMatcher(refs);
    for await (const r of ndjson(file)) {
      if (r.resourceType !== type) continue;
      const concept = type === 'MedicationRequest' ? r.medicationCodeableConcept : r.code;
      const panelOrComponent = type === 'Observation' && (r.component ?? []).some((c: { code?: unknown }) => matches(c.code as never));
      if (!matches(concept) && !panelOrComponent) continue;
      const id = patientIdOf(r);
      const entry = id ? patients.get(id) : undefined;
      if (entry) entry.resources.push(r as Resource);
    }
  }
  return patients;
}

function topFactors(inputs: Input[], contributions: { feature: string; contribution: number }[], n = 3): string[] {
  const label = new Map(inputs.map((i) => [i.feature, i.label]));
  return [...contributions]
    .filter((c) => c.contribution !== 0)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, n)
    .map((c) => `${label.get(c.feature) ?? c.feature} ${c.contribution >= 0 ? '+' : ''}${(c.contribution * 100).toFixed(1)} pp`);
}

export async function scorePopulation(
  records: Map<string, { patient: Patient; resources: Resource[] }>,
  pkg: ModelPackage,
  now: Date,
  batchSize: number,
  onRow: (row: ScoreRow) => void,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const m = pkg.manifest;
  let done = 0;
  const pending: { id: string; inputs: Input[]; x: number[] }[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const risks = await predictBatch(pkg, pending.map((p) => p.x));
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const { explanation } = await explainPrediction(pkg, p.x);
      const risk = risks[i]!;
      onRow({ patientId: p.id, status: 'scored', risk, category: categorize(m, risk).code, topFactors: topFactors(p.inputs, explanation.contributions), missing: [], reasons: [] });
    }
    done += pending.length;
    onProgress?.(done, records.size);
    pending.length = 0;
  };
  for (const [id, record] of records) {
    const inputs = extractInputs(m.features, record, now);
    const applicability = checkApplicability(m.applicability, record, inputs, now);
    if (!applicability.applicable) {
      onRow({ patientId: id, status: 'not-applicable', topFactors: [], missing: [], reasons: applicability.reasons });
      done++;
      continue;
    }
    const missing = missingRequired(m.features, inputs);
    if (missing.length) {
      onRow({ patientId: id, status: 'insufficient-data', topFactors: [], missing: missing.map((x) => x.label), reasons: [] });
      done++;
      continue;
    }
    pending.push({ id, inputs, x: inputs.map((i) => (i.value === null ? Number.NaN : i.value)) });
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  onProgress?.(records.size, records.size);
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export async function runScore(dir: string, opts: ScoreOptions): Promise<number> {
  const now = opts.now ? new Date(opts.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new Error(`--now "${opts.now}" is not a date.`);
  const batch = Number(opts.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new Error('--batch must be a whole number of at least 1.');
  if (opts.format !== 'csv' && opts.format !== 'ndjson') throw new Error('--format must be csv or ndjson.');
  const pkg = await loadModelPackage(resolve(opts.modelsDir, opts.model));
  const records = await readBulkExport(dir, pkg);
  const out = opts.out ? createWriteStream(opts.out) : process.stdout;
  if (opts.format === 'csv') out.write('patient_id,status,risk,category,top_factors,missing_inputs,reasons\n');
  const tty = process.stderr.isTTY;
  const progress = (done: number, total: number) => {
    if (!tty) return;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} patients`);
    if (done === total) process.stderr.write('\n');
  };
  await scorePopulation(
    records,
    pkg,
    now,
    batch,
    (row) => {
      if (opts.format === 'ndjson') out.write(`${JSON.stringify(row)}\n`);
      else
        out.write(
          [row.patientId, row.status, row.risk === undefined ? '' : row.risk.toFixed(6), row.category ?? '', row.topFactors.join('; '), row.missing.join('; '), row.reasons.join('; ')]
            .map(csvCell)
            .join(',') + '\n',
        );
    },
    progress,
  );
  if (opts.out) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(() => r()));
  return 0;
}
