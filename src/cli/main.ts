/**
 * The `riskcards` command line: serve, call (act as an EHR), keys, score (bulk population
 * scoring), validate (a model package), report (what clinicians answered).
 */
import { Command } from 'commander';
import { runCall } from './call.ts';
import { runKeys } from './keys.ts';
import { runScore } from './score.ts';
import { runValidate } from './validate.ts';
import { runReport } from './report.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('riskcards')
    .description('RiskCards: explained clinical risk models as CDS Hooks 2.0 services.')
    .showHelpAfterError();

  program
    .command('serve')
    .description('Serve the CDS Hooks API with the bundled models (settings from PORT and RISKCARDS_* variables; see README).')
    .addHelpText('after', '\nExample:\n  PORT=8080 RISKCARDS_AUTH=off riskcards serve')
    .action(async () => {
      const { startService } = await import('../main.ts');
      const svc = await startService();
      const stop = () => void svc.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  program
    .command('call')
    .description('Act as an EHR: send a hook call to a CDS service, signed with a local key, and print the cards.')
    .argument('<service-url>', 'the service endpoint, e.g. http://localhost:8080/cds-services/riskcards-ascvd-pce')
    .option('--hook <hook>', 'hook name', 'patient-view')
    .option('--patient <id>', 'patient id (read from the FHIR server)')
    .option('--bundle <file>', 'a FHIR Bundle file holding the patient and their resources (sent as prefetch)')
    .option('--fhir-server <url>', 'FHIR server the service may fetch from (and that fills prefetch)')
    .option('--no-prefetch', 'send no prefetch: the service fetches from --fhir-server')
    .option('--key <file>', 'private key file made by `riskcards keys` (without it the call carries no JWT)')
    .option('--iss <iss>', 'JWT issuer (must be a trusted client of the service)', 'urn:riskcards:cli')
    .option('--json', 'print the raw JSON response')
    .addHelpText(
      'after',
      '\nExamples:\n  riskcards call http://localhost:8080/cds-services/riskcards-ascvd-pce --bundle patient.json --key client-key.json\n  riskcards call http://localhost:8080/cds-services/riskcards-ascvd-pce --patient 123 --fhir-server http://localhost:8082/fhir --no-prefetch',
    )
    .action(async (url: string, opts) => {
      process.exitCode = await runCall(url, opts);
    });

  program
    .command('keys')
    .description('Make an ES384 key pair for signing client JWTs: writes the private key file and prints the public JWKS and a trusted-client entry.')
    .option('--out <file>', 'where to write the private key', 'client-key.json')
    .option('--iss <iss>', 'issuer to put in the trusted-client entry', 'urn:riskcards:cli')
    .addHelpText('after', '\nExample:\n  riskcards keys --out client-key.json --iss https://ehr.example.org')
    .action(async (opts) => {
      process.exitCode = await runKeys(opts);
    });

  program
    .command('score')
    .description('Score a whole population from a FHIR Bulk Data export (NDJSON, one file per resource type), streamed and batched.')
    .argument('<bulk-export-dir>', 'folder with Patient.ndjson, Observation.ndjson, Condition.ndjson, ...')
    .option('--model <id>', 'model package id', 'pce-ascvd')
    .option('--models-dir <dir>', 'model packages folder', 'models')
    .option('--format <format>', 'csv or ndjson', 'csv')
    .option('--out <file>', 'output file (default: standard output)')
    .option('--now <date>', 'reference date for ages and lookback windows (ISO date; default today)')
    .option('--batch <n>', 'patients per inference batch', '256')
    .addHelpText('after', '\nExample:\n  riskcards score ./bulk-export --model pce-ascvd --now 2021-06-01 --format csv --out risks.csv')
    .action(async (dir: string, opts) => {
      process.exitCode = await runScore(dir, opts);
    });

  program
    .command('validate')
    .description('Check a model package: sha256, ONNX inputs and outputs against the manifest, feature codes and units, reference cases. Each problem is one sentence.')
    .argument('<model-dir>', 'the package folder, e.g. models/pce-ascvd')
    .addHelpText('after', '\nExample:\n  riskcards validate models/pce-ascvd')
    .action(async (dir: string) => {
      process.exitCode = await runValidate(dir);
    });

  program
    .command('report')
    .description('What clinicians answered: acceptance and override rates and override reasons per service and model version, from the same store as the service.')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  riskcards report\n  DATABASE_URL=postgres://... riskcards report --json')
    .action(async (opts) => {
      process.exitCode = await runReport(opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.stderr.write(`riskcards: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
