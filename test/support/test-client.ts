/** A trusted test EHR: a fresh key, the verifier that trusts it, and signed tokens per path. */
import { createClientVerifier, requireClientJwt } from '../../src/http/auth.ts';
import { parseTrustedClients } from '../../src/http/trusted-clients.ts';
import { createClientKey, publicJwks, signClientJwt, type ClientKey } from '../../src/client/cds-client.ts';
import type { RequestHandler } from 'express';
import type { Logger } from '../../src/observe/logger.ts';

export const TEST_ISS = 'https://ehr.test';

export interface TestClient {
  key: ClientKey;
  authenticate(log: Pick<Logger, 'warn'>): RequestHandler;
  token(path: string): Promise<string>;
}

export async function createTestClient(publicUrl: string, fhirServers: string[] = []): Promise<TestClient> {
  const key = await createClientKey();
  const clients = parseTrustedClients([{ iss: TEST_ISS, jwks: publicJwks(key), ...(fhirServers.length ? { fhirServers } : {}) }], 'test');
  const seen = new Set<string>();
  const verify = createClientVerifier({
    clients,
    publicUrl,
    replay: { rememberJti: async (iss, jti) => (seen.has(`${iss}|${jti}`) ? false : (seen.add(`${iss}|${jti}`), true)) },
  });
  return {
    key,
    authenticate: (log) => requireClientJwt(verify, log),
    token: (path) => signClientJwt(key, { iss: TEST_ISS, aud: `${publicUrl}${path}`, sub: 'dr-test' }),
  };
}
