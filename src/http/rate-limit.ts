/**
 * Per-client rate limit: a fixed one-minute window per client key (the JWT issuer, or the remote
 * address when authentication is off). Kept in memory, so each replica limits on its own: with N
 * replicas a client gets at most N x the limit (stated in README).
 */
import type { RequestHandler } from 'express';
import { tooManyRequests } from '../errors.ts';

export function rateLimit(perMinute: number, now: () => number = Date.now): RequestHandler {
  let windowStart = now();
  let counts = new Map<string, number>();
  return (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    const t = now();
    if (t - windowStart >= 60_000) {
      windowStart = t;
      counts = new Map();
    }
    const client = res.locals.client as { iss?: string } | undefined;
    const key = client?.iss ?? req.socket.remoteAddress ?? 'unknown';
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n > perMinute) {
      res.setHeader('Retry-After', String(Math.ceil((windowStart + 60_000 - t) / 1000)));
      return next(tooManyRequests());
    }
    next();
  };
}
