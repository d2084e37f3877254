/** `npm run sandbox`: starts the offline sandbox (FHIR server, CDS service, EHR simulator page). */
import { startSandbox } from './sandbox.ts';

const sandbox = await startSandbox({
  servicePort: Number(process.env.PORT ?? 8080),
});
process.stdout.write(
  `RiskCards sandbox is running:\n  EHR simulator page  ${sandbox.ehrUrl}\n  CDS discovery       ${sandbox.serviceUrl}/cds-services\n  FHIR server         ${sandbox.fhirUrl}\nPress Ctrl+C to stop.\n`,
);
const stop = () => void sandbox.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
