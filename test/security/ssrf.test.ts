/**
 * The service only calls FHIR servers on the allowlist: a request naming another fhirServer is
 * refused with a 400 naming the field, and no connection is ever opened to it (a listener counts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { createTestClient, type TestClient } from '../support/test-client.ts';
import { hookRequest } from '../support/ehr.ts';

const PUBLIC = 'http://riskcards.test';
let t: TestApp;
let client: TestClient;
let trap: Server;
let connections = 0;
let trapUrl: string;

before(async () => {
  trap = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/fhir`;
  // The trusted client may use one FHIR server (another port); the trap is not listed.
  client = await createTestClient(PUBLIC, ['http://127.0.0.1:1/fhir']);
  t = await buildTestApp({ authenticate: (log) => client.authenticate(log) });
});
after(async () => {
  trap?.close();
  await t?.close();
});

test('an unlisted fhirServer gets 400 naming fhirServer and the service opens no connection to it', async () => {
  const path = '/cds-services/riskcards-ascvd-pce';
  for (const fhirServer of [trapUrl, trapUrl.replace('127.0.0.1', 'localhost'), `${trapUrl}/../fhir`]) {
    const res = await request(t.app)
      .post(path)
      .set('Authorization', `Bearer ${await client.token(path)}`)
      .send(hookRequest('p1', { fhirServer, fhirAuthorization: { access_token: 'secret-token', token_type: 'Bearer' } }));
    assert.equal(res.status, 400, fhirServer);
    assert.deepEqual(res.body.issue[0].expression, ['fhirServer']);
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(connections, 0, 'no connection reached the unlisted server');
});
