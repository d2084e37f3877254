/** An HTTP server on loopback that answers as a broken FHIR server would, for failure tests. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Misbehaving {
  url: string;
  /** Requests seen, with their Authorization header. */
  seen: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startMisbehavingServer(answer: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<Misbehaving> {
  const seen: Misbehaving['seen'] = [];
  let base = '';
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    answer(req, res, base);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return {
    url: base,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
}
