/**
 * The ceiling the service is compared with: express 5 + helmet, the same JSON body parser
 * settings as the service (src/http/json-body.ts: express.json, strict, 2 MB default limit,
 * application/json and application/*+json), and a fixed ~1 KB card answer. Everything the real
 * service does beyond parsing the body and answering is what the ratio (service / ceiling) costs.
 *
 * Run as its own process: `node --import tsx bench/ceiling-server.ts [port]`; prints
 * `listening <url>` on stdout once ready.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helmet from 'helmet';

const answer = JSON.stringify(JSON.parse(readFileSync(new URL('./ceiling-card.json', import.meta.url), 'utf8')));
const limitBytes = Number(process.argv[3] ?? 2048 * 1024);

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(helmet());
app.use(express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'], strict: true }));
app.post('/cds-services/:id', (req, res) => {
  // Touch the parsed body so the parse cannot be skipped as dead work.
  if (typeof req.body?.hook !== 'string') {
    res.status(400).json({ resourceType: 'OperationOutcome' });
    return;
  }
  res.type('application/json').send(answer);
});

const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});
server.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => server.close(() => process.exit(0)));
