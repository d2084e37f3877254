/**
 * JSON bodies: size limit (413), malformed JSON (400) through express.json, then a nesting-depth
 * limit so that a hostile body cannot make later stages recurse without bound.
 */
import express, { type RequestHandler } from 'express';
import { badRequest } from '../errors.ts';

/** Depth of the deepest nesting, walked iteratively (no recursion on hostile input). */
export function jsonDepth(value: unknown, stopAt: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

export function jsonBody(limitBytes: number, maxDepth: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'], strict: true });
  const depth: RequestHandler = (req, _res, next) => {
    if (req.body !== undefined && jsonDepth(req.body, maxDepth) > maxDepth) {
      next(badRequest(`The request body nests deeper than ${maxDepth} levels.`, '$', 'RC_TOO_DEEP'));
      return;
    }
    next();
  };
  return [parse, depth];
}
