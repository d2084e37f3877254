/**
 * `npm run sandbox [-- options]`: starts the offline sandbox (FHIR server, CDS service, EHR
 * simulator page). Options: --service-port 8080, --ehr-port 8081, --fhir-port 8082,
 * --allow-origin <url> (repeatable: a browser EHR such as a local build of the official CDS Hooks
 * Sandbox), --original-dates (keep Synthea's 2018-2021 dates and pin the service clock instead of
 * moving each record so that it ends two weeks ago).
 */
import { parseArgs } from 'node:util';
import { startSandbox } from './sandbox.ts';

const { values } = parseArgs({
  options: {
    'service-port': { type: 'string', default: '8080' },
    'ehr-port': { type: 'string', default: '8081' },
    'fhir-port': { type: 'string', default: '8082' },
    'allow-origin': { type: 'string', multiple: true, default: [] },
    'original-dates': { type: 'boolean', default: false },
  },
});

const sandbox = await startSandbox({
  servicePort: Number(values['service-port']),
  ehrPort: Number(values['ehr-port']),
  fhirPort: Number(values['fhir-port']),
  allowOrigins: values['allow-origin'],
  ...(values['original-dates'] ? { shiftToDaysAgo: null } : {}),
});
process.stdout.write(
  `RiskCards sandbox is running:\n  EHR simulator page  ${sandbox.ehrUrl}\n  CDS discovery       ${sandbox.serviceUrl}/cds-services\n  FHIR server         ${sandbox.fhirUrl}\nPress Ctrl+C to stop.\n`,
);
const stop = () => void sandbox.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
