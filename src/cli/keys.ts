/** `riskcards keys`: an ES384 key pair for signing CDS client JWTs. */
import { writeFileSync } from 'node:fs';
import { createClientKey, publicJwks } from '../client/cds-client.ts';

export async function runKeys(opts: { out: string; iss: string }): Promise<number> {
  const key = await createClientKey();
  writeFileSync(opts.out, JSON.stringify(key, null, 2) + '\n', { mode: 0o600 });
  process.stdout.write(
    `Private key written to ${opts.out} (keep it secret).\n\nPublic JWKS (publish it at your jku URL, or inline it):\n${JSON.stringify(publicJwks(key), null, 2)}\n\n` +
      `Trusted-client entry for the service's RISKCARDS_TRUSTED_CLIENTS file:\n${JSON.stringify({ iss: opts.iss, jwks: publicJwks(key) }, null, 2)}\n`,
  );
  return 0;
}
