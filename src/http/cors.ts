/**
 * CORS for browser-based EHRs (the sandbox page, the official CDS Hooks Sandbox). Allowed origins
 * are named in configuration; a configured "*" answers "*" and never sends Allow-Credentials, so
 * the two are never combined. Preflight (OPTIONS) needs no JWT and is answered here.
 */
import type { RequestHandler } from 'express';

export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins.filter((o) => o !== '*'));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin) {
      res.vary('Origin');
      if (allowed.has(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
      } else if (any) {
        res.setHeader('Access-Control-Allow-Origin', '*');
      }
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
    }
    if (req.method === 'OPTIONS') {
      if (origin && (allowed.has(origin) || any)) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
        res.setHeader('Access-Control-Max-Age', '600');
      }
      res.status(204).end();
      return;
    }
    next();
  };
}
