/**
 * Structured JSON logs (pino). What may be logged is decided here, once: never a JWT, an access
 * token, a patient name or resource content. Patient ids appear only as keyed hashes, computed
 * by the caller. Headers and bodies are never passed to the logger; the redact list is a second
 * line of defence should someone try.
 */
import { pino, destination as pinoDestination, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Standard output is written in chunks of at least 4 KB (about a dozen request lines) rather than
  // one write call per line on the event loop, and at least every 250 ms, so a quiet service's
  // lines are not held back. pino flushes what is buffered when the process exits; a SIGKILL can
  // lose the last 250 ms of lines (the audit trail is in the store, not here).
  let stdout: ReturnType<typeof pinoDestination> | undefined;
  if (!destination) {
    const out = pinoDestination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => {
      // flush() does nothing while a write is in progress.
      try {
        out.flush();
      } catch {
        /* not ready yet: the next tick flushes */
      }
    }, 250).unref();
    stdout = out;
  }
  return pino(
    {
      level,
      base: { service: 'riskcards' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'req.headers.authorization',
          'token',
          'accessToken',
          'access_token',
          'fhirAuthorization',
          'prefetch',
          'context',
          'body',
          'patient',
          'name',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? stdout,
  );
}
