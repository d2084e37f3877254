/**
 * `npm run bench`: the performance benchmark (issue "Performance"). Not a test: nothing here
 * fails on a slow number; targets are printed as PASS/MISS. One run measures
 *   - HTTP at N connections with autocannon in its own process: (a) the ceiling (express 5 +
 *     helmet, fixed card), (b) the service with full prefetch, (c) the service fetching from a
 *     FHIR server on loopback; req/s, p50, p99, ratios, and the service's own per-stage metrics;
 *   - start-to-ready (cold data folder and warm restart) and peak RSS under load;
 *   - in-process work per request and the explanation cost of every bundled model;
 *   - batch scoring of a replicated Bulk Data export against plain NDJSON parsing;
 *   - with --profile, a CPU profile of the service under load (b).
 * Each measurement stands alone: one that cannot run is reported "n/a" with the reason.
 * Results are appended to bench/results.md (oldest first, newest last) and printed.
 *
 * Flags (or environment): --duration s (BENCH_DURATION, 10), --connections n (BENCH_CONNECTIONS, 50),
 * --warmup s (BENCH_WARMUP, 2), --patient id, --batch-patients n (BENCH_BATCH_PATIENTS, 2000),
 * --only list (http,startup,pipeline,explain,batch), --profile, --no-write, --log-level level,
 * --models id,id (give the service only these packages of models/ and their services in cds-hooks/),
 * --database-url postgres://... (BENCH_DATABASE_URL; the service stores in that PostgreSQL server,
 * in a fresh schema dropped afterwards, instead of the embedded PGlite).
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle } from 'fhir/r4.js';
import { describeMachine, type Machine } from './machine.ts';
import { buildHookBodies, lastRecordDate, prefetchTemplates, readFixtureBundles } from './hook-body.ts';
import { runLoad, startCeilingProcess, startServiceProcess, watchRss, type LoadResult, type ServiceChild } from './child-processes.ts';
import { parseHistograms, scrapeMetrics, stageRows, subtract, type StageRow } from './stage-metrics.ts';
import { measureExplanations, measurePipeline, type ExplanationTiming, type PipelineTiming } from './in-process.ts';
import { parseBulkExport, writeBulkExport } from './bulk-export.ts';
import { summarizeCpuProfile, type ProfileSummary } from './cpu-profile.ts';

const ROOT = new URL('../', import.meta.url).pathname.replace(/\/$/, '');
const SERVICE_ID = 'riskcards-ascvd-pce';
/** Female, 40 at her last record, no prior ASCVD: a scored card; 102 resources in the prefetch. */
const DEFAULT_PATIENT = 'a5d58f24-9689-4a44-a377-32708cae064c';
const SECTIONS = ['http', 'startup', 'pipeline', 'explain', 'batch'] as const;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '10' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '50' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '2' },
    patient: { type: 'string', default: DEFAULT_PATIENT },
    'batch-patients': { type: 'string', default: process.env.BENCH_BATCH_PATIENTS ?? '2000' },
    only: { type: 'string', default: SECTIONS.join(',') },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    models: { type: 'string' },
    'database-url': { type: 'string', default: process.env.BENCH_DATABASE_URL },
  },
});
const durationSec = positive('duration');
const connections = positive('connections');
const warmupSec = Number(flags.warmup);
const batchPatients = positive('batch-patients');
const only = new Set(flags.only!.split(',').map((s) => s.trim()));

function positive(name: keyof typeof flags): number {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1, not "${flags[name]}".`);
  return n;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  const t = performance.now();
  process.stderr.write(`bench: ${what} ...\n`);
  try {
    const value = await fn();
    process.stderr.write(`bench: ${what} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    return { ok: true, value };
  } catch (e) {
    const reason = (e as Error).message.replaceAll(ROOT, '.').replace(/\s*\n\s*/g, ' / ').slice(0, 300);
    process.stderr.write(`bench: ${what} not measured: ${reason}\n`);
    return { ok: false, reason };
  }
}

interface Sanity {
  status: number;
  cards: number;
  /** "risk card", "info card", or the OperationOutcome text. */
  answer: string;
}

interface HttpRun {
  sanity: Sanity;
  load: LoadResult;
  stages: StageRow[];
  service: StageRow[];
}

interface Results {
  started: Date;
  machine: Machine;
  body?: Outcome<{ patientId: string; now: string; prefetchResources: number; withPrefetchBytes: number; withoutPrefetchBytes: number; codesFrom: string }>;
  ceiling?: Outcome<LoadResult>;
  service?: Outcome<HttpRun>;
  noPrefetch?: Outcome<HttpRun>;
  cold?: Outcome<{ spawnToReadyMs: number; loggedReadyMs?: number }>;
  warm?: Outcome<{ spawnToReadyMs: number; loggedReadyMs?: number }>;
  rss?: Outcome<{ peakRssMb: number; hwmMb: number }>;
  pipeline?: Outcome<PipelineTiming>;
  explanations?: Outcome<{ timings: ExplanationTiming[]; problems: string[] }>;
  batch?: Outcome<{ patients: number; resources: number; mb: number; parseMs: number; scoreMs: number; loadModelMs: number; rows: Record<string, number> }>;
  /** The main thread's profile, then one per worker thread (the store's). */
  profile?: Outcome<{ main: ProfileSummary & { file: string }; workers: (ProfileSummary & { thread: number })[] }>;
}

async function postJson(url: string, body: string): Promise<Sanity> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) });
  const json = (await res.json()) as { cards?: { extension?: Record<string, unknown>; indicator?: string }[]; issue?: { diagnostics?: string; details?: { text?: string } }[] };
  if (res.status !== 200) return { status: res.status, cards: 0, answer: json.issue?.[0]?.diagnostics ?? json.issue?.[0]?.details?.text ?? 'error' };
  const cards = json.cards ?? [];
  const risk = cards.some((c) => c.extension && 'riskcards.prediction' in c.extension);
  return { status: 200, cards: cards.length, answer: risk ? 'risk card' : cards.length ? `${cards[0]!.indicator} card without a prediction` : 'no card' };
}

/** Sanity call, warm-up, then the measured load with the service's own stage metrics around it. */
async function loadService(svc: ServiceChild, bodyFile: string, bodyText: string): Promise<HttpRun> {
  const url = `${svc.url}/cds-services/${SERVICE_ID}`;
  const sanity = await postJson(url, bodyText);
  if (sanity.status !== 200) throw new Error(`the service answered ${sanity.status} to the benchmark request: ${sanity.answer}`);
  if (warmupSec > 0) await runLoad(ROOT, { url, bodyFile, connections, durationSec: warmupSec });
  const before = await scrapeMetrics(svc.url);
  const load = await runLoad(ROOT, { url, bodyFile, connections, durationSec });
  const after = await scrapeMetrics(svc.url);
  const diff = (name: string) => stageRows(subtract(parseHistograms(after, name), parseHistograms(before, name)));
  return { sanity, load, stages: diff('riskcards_stage_duration_seconds'), service: diff('riskcards_service_duration_seconds') };
}

let modelsDir: string | undefined;
let servicesDir: string | undefined;

/** With --database-url: that server, with search_path set to a schema of the bench's own. */
let databaseUrl: string | undefined;

function serviceEnv(dataDir: string, now: string): Record<string, string> {
  return {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(modelsDir ? { RISKCARDS_MODELS_DIR: modelsDir } : {}),
    ...(servicesDir ? { RISKCARDS_SERVICES_DIR: servicesDir } : {}),
    RISKCARDS_AUTH: 'off',
    RISKCARDS_NOW: now,
    RISKCARDS_DATA_DIR: dataDir,
    // The default (1,200 a minute per client) would turn most of the load into 429s.
    RISKCARDS_RATE_LIMIT_PER_MINUTE: '1000000',
    RISKCARDS_LOG_LEVEL: flags['log-level']!,
  };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'riskcards-bench-'));
  const r: Results = { started: new Date(), machine: describeMachine(ROOT) };
  let fhir: { url: string; close(): Promise<void> } | undefined;
  let svc: ServiceChild | undefined;
  let dropSchema: (() => Promise<void>) | undefined;
  try {
    // The service runs as `npm start` runs it: built into dist/ first.
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (flags['database-url']) {
      const { default: pg } = await import('pg');
      const base = flags['database-url'];
      const schema = `rc_bench_${process.pid}_${Date.now()}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      databaseUrl = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      dropSchema = async () => {
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`drop schema ${schema} cascade`);
        await c.end();
      };
    }
    if (flags.models) {
      modelsDir = join(tmp, 'models');
      mkdirSync(modelsDir);
      const ids = new Set(flags.models.split(',').map((x) => x.trim()));
      for (const id of ids) symlinkSync(join(ROOT, 'models', id), join(modelsDir, id));
      // Only the service definitions of those models, or the service refuses to start.
      servicesDir = join(tmp, 'cds-hooks');
      mkdirSync(servicesDir);
      for (const f of readdirSync(join(ROOT, 'cds-hooks')).filter((n) => n.endsWith('.json'))) {
        const def = JSON.parse(readFileSync(join(ROOT, 'cds-hooks', f), 'utf8')) as { model?: string };
        if (def.model && ids.has(def.model)) symlinkSync(join(ROOT, 'cds-hooks', f), join(servicesDir, f));
      }
    }
    const bundles = readFixtureBundles(join(ROOT, 'test', 'fixtures', 'synthea'));
    const patient = bundles.get(flags.patient!);
    if (!patient) throw new Error(`--patient ${flags.patient} is not one of test/fixtures/synthea/*.json.`);
    // "Now" one day after the patient's last record, so nothing is stale by accident.
    const now = new Date(lastRecordDate(patient).getTime() + 86_400_000).toISOString().slice(0, 10);

    let bodies: { withPrefetch: string; withoutPrefetch: string } | undefined;
    if (only.has('http') || only.has('pipeline')) {
      r.body = await attempt('FHIR server and request bodies', async () => {
        const { startFhirServer } = await import('../src/sandbox/fhir-server.ts');
        fhir = await startFhirServer({ host: '127.0.0.1', port: 0, bundles: [...bundles.values()] });
        const templates = await prefetchTemplates(ROOT, SERVICE_ID);
        const b = await buildHookBodies(fhir.url, flags.patient!, templates);
        bodies = b;
        writeFileSync(join(tmp, 'with-prefetch.json'), b.withPrefetch);
        writeFileSync(join(tmp, 'without-prefetch.json'), b.withoutPrefetch);
        return {
          patientId: flags.patient!,
          now,
          prefetchResources: b.prefetchResources,
          withPrefetchBytes: Buffer.byteLength(b.withPrefetch),
          withoutPrefetchBytes: Buffer.byteLength(b.withoutPrefetch),
          codesFrom: templates.codesFrom,
        };
      });
    }

    const dataDir = join(tmp, 'data');
    if (only.has('startup')) {
      r.cold = await attempt('start to ready, fresh data folder', async () => {
        const s = await startServiceProcess(ROOT, serviceEnv(dataDir, now));
        const v = { spawnToReadyMs: s.spawnToReadyMs, ...(s.loggedReadyMs !== undefined ? { loggedReadyMs: s.loggedReadyMs } : {}) };
        await s.stop();
        return v;
      });
    }
    if (only.has('startup') || only.has('http')) {
      r.warm = await attempt('start to ready, warm restart', async () => {
        svc = await startServiceProcess(ROOT, serviceEnv(dataDir, now));
        return { spawnToReadyMs: svc.spawnToReadyMs, ...(svc.loggedReadyMs !== undefined ? { loggedReadyMs: svc.loggedReadyMs } : {}) };
      });
    }

    if (only.has('http') && bodies) {
      r.ceiling = await attempt(`(a) ceiling, ${connections} connections, ${durationSec} s`, async () => {
        const c = await startCeilingProcess(ROOT);
        try {
          const url = `${c.url}/cds-services/${SERVICE_ID}`;
          const bodyFile = join(tmp, 'with-prefetch.json');
          if (warmupSec > 0) await runLoad(ROOT, { url, bodyFile, connections, durationSec: warmupSec });
          return await runLoad(ROOT, { url, bodyFile, connections, durationSec });
        } finally {
          await c.stop();
        }
      });
      if (svc) {
        const rss = watchRss(svc.pid);
        r.service = await attempt(`(b) service with prefetch, ${connections} connections, ${durationSec} s`, () => loadService(svc!, join(tmp, 'with-prefetch.json'), bodies!.withPrefetch));
        r.noPrefetch = await attempt(`(c) service fetching from FHIR, ${connections} connections, ${durationSec} s`, () => loadService(svc!, join(tmp, 'without-prefetch.json'), bodies!.withoutPrefetch));
        const peak = rss.stop();
        r.rss = peak.peakRssMb > 0 ? { ok: true, value: peak } : { ok: false, reason: 'the service process could not be read' };
      } else {
        const reason = r.warm && !r.warm.ok ? `the service did not start: ${r.warm.reason}` : 'the service did not start';
        r.service = r.noPrefetch = r.rss = { ok: false, reason };
      }
    }
    if (svc) {
      await svc.stop();
      svc = undefined;
    }

    if (only.has('pipeline') && bodies) {
      const text = bodies.withPrefetch;
      r.pipeline = await attempt('in-process pipeline', () => measurePipeline({ root: ROOT, serviceId: SERVICE_ID, bodyText: text, now: new Date(now), iterations: 5000, budgetMs: 4000 }));
    }
    if (fhir) {
      await fhir.close();
      fhir = undefined;
    }
    if (only.has('explain')) r.explanations = await attempt('explanation per model', () => measureExplanations({ root: ROOT, budgetMsPerModel: 1500 }));
    if (only.has('batch')) r.batch = await attempt(`batch scoring, ${batchPatients} patients`, () => measureBatch([...bundles.values()]));

    if (flags.profile) {
      r.profile = await attempt('CPU profile of the service under load (b)', async () => {
        if (!existsSync(join(tmp, 'with-prefetch.json'))) throw new Error('no request body (the http section did not run)');
        const profDir = join(tmp, 'cpu-profile');
        const s = await startServiceProcess(ROOT, serviceEnv(join(tmp, 'data-profile'), now), ['--cpu-prof', '--cpu-prof-dir', profDir]);
        try {
          await runLoad(ROOT, { url: `${s.url}/cds-services/${SERVICE_ID}`, bodyFile: join(tmp, 'with-prefetch.json'), connections, durationSec });
        } finally {
          await s.stop();
        }
        // node writes one file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
        const files = readdirSync(profDir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => ({ path: join(profDir, f), thread: Number(f.split('.')[4]) }))
          .sort((a, b) => a.thread - b.thread);
        const main = files.find((f) => f.thread === 0);
        if (!main) throw new Error('node wrote no .cpuprofile for the main thread (did the service exit cleanly on SIGTERM?)');
        // Kept outside the repository (several MB) for a look in Chrome DevTools.
        copyFileSync(main.path, join(tmpdir(), 'riskcards-service.cpuprofile'));
        return {
          main: { ...summarizeCpuProfile(main.path, ROOT), file: '$TMPDIR/riskcards-service.cpuprofile' },
          workers: files.filter((f) => f.thread !== 0).map((f) => ({ ...summarizeCpuProfile(f.path, ROOT), thread: f.thread })),
        };
      });
    }
  } finally {
    await svc?.stop();
    await fhir?.close();
    await dropSchema?.().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }

  const section = renderSection(r);
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) {
    const file = join(ROOT, 'bench', 'results.md');
    if (!existsSync(file)) writeFileSync(file, HISTORY_HEADER);
    appendFileSync(file, `\n${section}\n`);
    process.stderr.write('bench: appended to bench/results.md\n');
  }
}

async function measureBatch(bundles: Bundle[]) {
  const dir = mkdtempSync(join(tmpdir(), 'riskcards-bulk-'));
  try {
    const exp = await writeBulkExport(dir, bundles, batchPatients);
    const { loadModelPackage } = await import('../src/models/model-package.ts');
    const { readBulkExport, scorePopulation } = await import('../src/cli/score.ts');
    let t = performance.now();
    const parsed = await parseBulkExport(dir);
    const parseMs = performance.now() - t;
    if (parsed !== exp.resources) throw new Error(`parsed ${parsed} resources, wrote ${exp.resources}`);
    t = performance.now();
    const pkg = await loadModelPackage(join(ROOT, 'models', 'pce-ascvd'));
    const loadModelMs = performance.now() - t;
    const rows: Record<string, number> = {};
    let out = 0;
    t = performance.now();
    const records = await readBulkExport(dir, pkg);
    // After every fixture patient's last record (2018-2021).
    await scorePopulation(records, pkg, new Date('2021-06-01'), 256, (row) => {
      rows[row.status] = (rows[row.status] ?? 0) + 1;
      out += JSON.stringify(row).length;
    });
    const scoreMs = performance.now() - t;
    if (!out) throw new Error('scoring wrote no rows');
    return { patients: exp.patients, resources: exp.resources, mb: exp.bytes / 1024 ** 2, parseMs, scoreMs, loadModelMs, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HISTORY_HEADER = `# Benchmark results

History of \`npm run bench\` (bench/run.ts): every run appends one dated section at the END of
this file (oldest first, newest last). Targets are printed PASS/MISS; a MISS never fails the run.
The machine is shared (2 cores) and the load generator runs on it too: compare ratios within one
run rather than absolute numbers between runs.
`;

const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS');
const value = <T,>(o: Outcome<T> | undefined): T | undefined => (o?.ok ? o.value : undefined);
const why = (o: Outcome<unknown> | undefined) => (o === undefined ? 'not run' : o.ok ? '' : `n/a: ${o.reason}`);

function renderSection(r: Results): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(`## ${r.started.toISOString().replace(/\.\d+Z$/, 'Z')}`);
  L.push('');
  L.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb.toFixed(1)} GB, ${m.os}, Node ${m.node}; load average at start ${m.loadAtStart.toFixed(2)}; commit ${m.commit}.`);
  L.push(`Settings: ${connections} connections, ${durationSec} s per HTTP run after ${warmupSec} s warm-up; autocannon in its own process on 127.0.0.1; service log level ${flags['log-level']}, RISKCARDS_AUTH=off, ${flags['database-url'] ? 'PostgreSQL server store (DATABASE_URL, a fresh schema; the server runs on the same 2 cores)' : 'embedded PGlite store in a temp folder (its own worker thread)'}; service models: ${flags.models ?? 'all of models/'}.`);
  const body = value(r.body);
  if (body) {
    L.push(
      `Request: patient-view for fixture patient ${body.patientId}, RISKCARDS_NOW=${body.now}; with prefetch ${(body.withPrefetchBytes / 1024).toFixed(1)} KB (${body.prefetchResources} resources, observation codes from the ${body.codesFrom}); without prefetch ${body.withoutPrefetchBytes} bytes.`,
    );
  } else L.push(`Request: ${why(r.body)}`);
  L.push('');

  const a = value(r.ceiling);
  const b = value(r.service);
  const c = value(r.noPrefetch);
  L.push('### HTTP');
  L.push('');
  L.push('| run | req/s | p50 ms | p99 ms | requests | non-2xx | errors | answer |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const row = (name: string, o: Outcome<LoadResult> | undefined, sanity?: Sanity) => {
    const v = value(o);
    if (!v) return L.push(`| ${name} | ${why(o)} | | | | | | |`);
    L.push(`| ${name} | ${v.reqPerSec.toFixed(0)} | ${v.p50Ms} | ${v.p99Ms} | ${v.totalRequests} | ${v.non2xx} | ${v.errors + v.timeouts} | ${sanity ? `${sanity.status}, ${sanity.answer}` : 'fixed 1 KB card'} |`);
  };
  row('(a) ceiling: express 5 + helmet, same body', r.ceiling);
  row('(b) service, full prefetch', r.service?.ok ? { ok: true, value: r.service.value.load } : (r.service as Outcome<LoadResult>), b?.sanity);
  row('(c) service, no prefetch (FHIR on loopback)', r.noPrefetch?.ok ? { ok: true, value: r.noPrefetch.value.load } : (r.noPrefetch as Outcome<LoadResult>), c?.sanity);
  L.push('');
  for (const [name, run] of [
    ['(b)', b],
    ['(c)', c],
  ] as const) {
    if (!run) continue;
    L.push(`Service's own timings during ${name} (from /metrics, histogram buckets; p50/p99 interpolated):`);
    L.push('');
    L.push('| series | count | mean ms | p50 ms | p99 ms |');
    L.push('| --- | ---: | ---: | ---: | ---: |');
    for (const s of [...run.service, ...run.stages]) L.push(`| ${s.labels.replace(/service=[^,]*,?/, '') || 'service'} | ${s.count} | ${ms(s.meanMs)} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} |`);
    if (!run.stages.length) L.push('| (no riskcards_stage_duration_seconds series) | | | | |');
    L.push('');
  }

  L.push('### Start-up and memory');
  L.push('');
  const cold = value(r.cold);
  const warm = value(r.warm);
  const rss = value(r.rss);
  L.push(`- Start to ready, ${flags['database-url'] ? 'fresh schema' : 'fresh data folder'}: ${cold ? `${ms(cold.spawnToReadyMs)} ms from spawn to /readyz 200; service logged readyMs ${cold.loggedReadyMs ?? 'n/a'}` : why(r.cold)}`);
  L.push(`- Start to ready, warm restart: ${warm ? `${ms(warm.spawnToReadyMs)} ms from spawn to /readyz 200; service logged readyMs ${warm.loggedReadyMs ?? 'n/a'}` : why(r.warm)}`);
  L.push(`- Service RSS during (b) and (c): ${rss ? `peak VmRSS ${rss.peakRssMb.toFixed(0)} MB, VmHWM ${rss.hwmMb.toFixed(0)} MB` : why(r.rss)}`);
  L.push('');

  L.push('### In-process');
  L.push('');
  const p = value(r.pipeline);
  if (p) {
    L.push(`Pipeline on the (b) body, ${p.iterations} iterations, outcome "${p.outcome}" (${p.cards} card); no HTTP, no store write:`);
    L.push('');
    L.push('| part | median ms | p99 ms |');
    L.push('| --- | ---: | ---: |');
    L.push(`| JSON.parse of the body (express.json's share) | ${ms(p.parse.median)} | ${ms(p.parse.p99)} |`);
    L.push(`| work: parseHookRequest + runService + JSON.stringify of cards | ${ms(p.work.median)} | ${ms(p.work.p99)} |`);
    for (const [k, s] of Object.entries(p.stages)) L.push(`| - stage ${k} | ${ms(s.median)} | ${ms(s.p99)} |`);
  } else L.push(`Pipeline: ${why(r.pipeline)}`);
  L.push('');
  const ex = value(r.explanations);
  if (ex) {
    L.push('Explanation per card (explainPrediction on the manifest\'s reference cases):');
    L.push('');
    L.push('| model | method | features | cases | median ms | p99 ms | runs |');
    L.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const t of ex.timings) L.push(`| ${t.modelId} | ${t.method} | ${t.features} | ${t.cases} | ${ms(t.perCard.median)} | ${ms(t.perCard.p99)} | ${t.perCard.n} |`);
    for (const pr of ex.problems) L.push(`| ${pr} | | | | | | |`);
    if (!ex.timings.length && !ex.problems.length) L.push('| (no model packages in models/) | | | | | | |');
  } else L.push(`Explanations: ${why(r.explanations)}`);
  L.push('');

  L.push('### Batch scoring');
  L.push('');
  const bt = value(r.batch);
  let batchRatio: number | undefined;
  if (bt) {
    const parseRate = bt.patients / (bt.parseMs / 1000);
    const scoreRate = bt.patients / (bt.scoreMs / 1000);
    batchRatio = scoreRate / parseRate;
    L.push(`Bulk export of ${bt.patients} patients (fixtures replicated with new ids), ${bt.resources} resources, ${bt.mb.toFixed(0)} MB NDJSON.`);
    L.push(`- JSON.parse of every line of every file: ${ms(bt.parseMs)} ms = ${parseRate.toFixed(0)} patients/s`);
    L.push(`- readBulkExport + scorePopulation (batch 256): ${ms(bt.scoreMs)} ms = ${scoreRate.toFixed(0)} patients/s (model load ${ms(bt.loadModelMs)} ms not counted); rows: ${Object.entries(bt.rows).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    L.push(`- ratio scoring / parsing: ${(batchRatio * 100).toFixed(0)} %`);
  } else L.push(`Batch scoring: ${why(r.batch)}`);
  L.push('');

  const ratio = a && b ? b.load.reqPerSec / a.reqPerSec : undefined;
  const p99Ratio = a && b ? b.load.p99Ms / a.p99Ms : undefined;
  const explainWorst = ex?.timings.length ? Math.max(...ex.timings.map((t) => t.perCard.median)) : undefined;
  L.push('### Targets');
  L.push('');
  L.push('| target | measured | verdict |');
  L.push('| --- | --- | --- |');
  L.push(`| req/s (b)/(a) >= 0.6 | ${ratio === undefined ? 'n/a' : ratio.toFixed(2)} | ${verdict(ratio === undefined ? undefined : ratio >= 0.6)} |`);
  L.push(`| p99 (b) <= 2 x p99 (a) | ${p99Ratio === undefined ? 'n/a' : `${p99Ratio.toFixed(2)} x`} | ${verdict(p99Ratio === undefined ? undefined : p99Ratio <= 2)} |`);
  L.push(`| in-process work per request <= 1 ms (median) | ${p ? `${ms(p.work.median)} ms` : 'n/a'} | ${verdict(p ? p.work.median <= 1 : undefined)} |`);
  L.push(`| explanation <= 1 ms per card, every model (median) | ${explainWorst === undefined ? 'n/a' : `${ms(explainWorst)} ms (slowest model)`} | ${verdict(explainWorst === undefined ? undefined : explainWorst <= 1)} |`);
  L.push(`| batch scoring >= 50 % of NDJSON parse rate | ${batchRatio === undefined ? 'n/a' : `${(batchRatio * 100).toFixed(0)} %`} | ${verdict(batchRatio === undefined ? undefined : batchRatio >= 0.5)} |`);
  L.push(`| ready <= 1.5 s, warm restart | ${warm ? `${ms(warm.spawnToReadyMs)} ms` : 'n/a'} | ${verdict(warm ? warm.spawnToReadyMs <= 1500 : undefined)} |`);
  L.push(`| ready <= 1.5 s, ${flags['database-url'] ? 'fresh schema' : 'fresh data folder'} | ${cold ? `${ms(cold.spawnToReadyMs)} ms` : 'n/a'} | ${verdict(cold ? cold.spawnToReadyMs <= 1500 : undefined)} |`);
  L.push(`| RSS <= 250 MB under load | ${rss ? `${rss.peakRssMb.toFixed(0)} MB` : 'n/a'} | ${verdict(rss ? rss.peakRssMb <= 250 : undefined)} |`);
  const warnings: string[] = [];
  for (const [name, run] of [
    ['(b)', b],
    ['(c)', c],
  ] as const) {
    if (run && run.load.non2xx + run.load.errors + run.load.timeouts > 0) warnings.push(`${name} had ${run.load.non2xx} non-2xx answers and ${run.load.errors + run.load.timeouts} errors: its numbers include failures.`);
    if (run && run.sanity.answer !== 'risk card') warnings.push(`${name} did not answer with a scored risk card (${run.sanity.answer}): the explanation path was not exercised.`);
  }
  if (warnings.length) L.push('', ...warnings.map((w) => `Warning: ${w}`));

  const profiles = value(r.profile);
  if (profiles || r.profile) {
    L.push('', '### CPU profile of the service under load (b)', '');
    if (!profiles) L.push(why(r.profile));
    else {
      const prof = profiles.main;
      const pct = (x: number) => `${((x / prof.busyMs) * 100).toFixed(1)} %`;
      L.push(`Main thread (answers the hooks), ${prof.file}: ${ms(prof.totalMs)} ms sampled, idle ${((prof.idleMs / prof.totalMs) * 100).toFixed(0)} %, GC ${pct(prof.gcMs)} of busy time. Shares below are of busy (non-idle) time.`);
      L.push('', 'Self time by module or package:', '');
      for (const x of prof.selfByModule) L.push(`- ${pct(x.ms)} ${x.name}`);
      L.push('', 'Self time by function:', '');
      for (const x of prof.selfByFunction) L.push(`- ${pct(x.ms)} ${x.name}`);
      L.push('', 'Inclusive time of functions in src/:', '');
      for (const x of prof.inclusiveSrc) L.push(`- ${pct(x.ms)} ${x.name}`);
      for (const w of profiles.workers) {
        const top = w.selfByModule.slice(0, 4).map((x) => `${x.name} ${((x.ms / w.busyMs) * 100).toFixed(0)} %`).join(', ');
        L.push('', `Worker thread ${w.thread}: busy ${((w.busyMs / w.totalMs) * 100).toFixed(0)} % of ${ms(w.totalMs)} ms sampled; self time: ${top}.`);
      }
    }
  }
  // Paths in messages are shown relative to the repository.
  return L.join('\n').replaceAll(ROOT, '.');
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
