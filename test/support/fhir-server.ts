/**
 * A real FHIR server on an ephemeral loopback port, loaded with fixture patients, for any test
 * that needs the EHR's FHIR server. Close it in `after`.
 */
import { fixturePatientIds, loadBundle } from './fixtures.ts';
import { startFhirServer, type FhirServerOptions, type RunningFhirServer } from '../../src/sandbox/fhir-server.ts';

export interface FixtureFhirServerOptions extends Omit<FhirServerOptions, 'bundles' | 'host' | 'port'> {
  /** Fixture patient ids (test/fixtures/synthea/<id>.json) to load; all 40 when left out. */
  patients?: string[];
}

export function startFixtureFhirServer(options: FixtureFhirServerOptions = {}): Promise<RunningFhirServer> {
  const { patients = fixturePatientIds(), ...rest } = options;
  return startFhirServer({ ...rest, host: '127.0.0.1', port: 0, bundles: patients.map(loadBundle) });
}
