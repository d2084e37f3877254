/**
 * The one place that reads the environment. Every setting is validated once at start; a bad
 * setting stops the service with a sentence naming it. The result is frozen.
 * Settings are listed in README.md ("Configuration").
 */
import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  /** Public base URL of this service, no trailing slash: JWT `aud` and card links are built on it. */
  publicUrl: string;
  auth: 'on' | 'off';
  trustedClientsFile?: string;
  modelsDir: string;
  servicesDir: string;
  dataDir: string;
  databaseUrl?: string;
  /** Fixed "now" for lookback windows (sandbox, demos on old records); undefined = the real clock. */
  fixedNow?: Date;
  fetchBudgetMs: number;
  bodyLimitBytes: number;
  jsonMaxDepth: number;
  rateLimitPerMinute: number;
  corsOrigins: string[];
  /** FHIR servers the service may call in addition to those listed per trusted client. */
  fhirAllowlist: string[];
  clockToleranceSec: number;
  patientHashKey?: string;
  explanationTtlSec: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Every variable the service reads; anything else starting with RISKCARDS_ is a typo and refused. */
const KNOWN = new Set([
  'RISKCARDS_HOST',
  'RISKCARDS_PUBLIC_URL',
  'RISKCARDS_AUTH',
  'RISKCARDS_TRUSTED_CLIENTS',
  'RISKCARDS_MODELS_DIR',
  'RISKCARDS_SERVICES_DIR',
  'RISKCARDS_DATA_DIR',
  'RISKCARDS_NOW',
  'RISKCARDS_FETCH_BUDGET_MS',
  'RISKCARDS_BODY_LIMIT_KB',
  'RISKCARDS_JSON_MAX_DEPTH',
  'RISKCARDS_RATE_LIMIT_PER_MINUTE',
  'RISKCARDS_CORS_ORIGINS',
  'RISKCARDS_FHIR_ALLOWLIST',
  'RISKCARDS_CLOCK_TOLERANCE_SEC',
  'RISKCARDS_PATIENT_HASH_KEY',
  'RISKCARDS_EXPLANATION_TTL_SEC',
  'RISKCARDS_LOG_LEVEL',
]);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (name.startsWith('RISKCARDS_') && !KNOWN.has(name)) problems.push(`${name} is not a RiskCards setting (see README "Configuration").`);
  }

  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, not "${raw}".`);
      return dflt;
    }
    return n;
  };
  const url = (name: string, raw: string): string => {
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return u.toString().replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL, not "${raw}".`);
      return raw;
    }
  };
  const list = (name: string, dflt: string[]): string[] => {
    const raw = env[name];
    if (raw === undefined) return dflt;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (s === '*' ? s : url(name, s)));
  };

  const port = int('PORT', 8080, 0, 65535);
  const host = env.RISKCARDS_HOST || '127.0.0.1';
  const publicUrl = url('RISKCARDS_PUBLIC_URL', env.RISKCARDS_PUBLIC_URL || `http://localhost:${port}`);

  const authRaw = env.RISKCARDS_AUTH || 'on';
  let auth: 'on' | 'off' = 'on';
  if (authRaw === 'on' || authRaw === 'off') auth = authRaw;
  else problems.push(`RISKCARDS_AUTH must be "on" or "off", not "${authRaw}".`);

  const trustedClientsFile = resolve(cwd, env.RISKCARDS_TRUSTED_CLIENTS || 'config/trusted-clients.json');

  let fixedNow: Date | undefined;
  if (env.RISKCARDS_NOW) {
    const d = new Date(env.RISKCARDS_NOW);
    if (Number.isNaN(d.getTime())) problems.push(`RISKCARDS_NOW must be an ISO 8601 date or date-time, not "${env.RISKCARDS_NOW}".`);
    else fixedNow = d;
  }

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL.');

  const corsOrigins = list('RISKCARDS_CORS_ORIGINS', ['http://localhost:8081', 'http://127.0.0.1:8081']);

  const logLevel = (env.RISKCARDS_LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`RISKCARDS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.`);

  const patientHashKey = env.RISKCARDS_PATIENT_HASH_KEY || undefined;
  if (patientHashKey !== undefined && patientHashKey.length < 16) problems.push('RISKCARDS_PATIENT_HASH_KEY must be at least 16 characters.');

  const config: Config = {
    port,
    host,
    publicUrl,
    auth,
    trustedClientsFile,
    modelsDir: resolve(cwd, env.RISKCARDS_MODELS_DIR || 'models'),
    servicesDir: resolve(cwd, env.RISKCARDS_SERVICES_DIR || 'cds-hooks'),
    dataDir: resolve(cwd, env.RISKCARDS_DATA_DIR || 'data'),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(fixedNow ? { fixedNow } : {}),
    fetchBudgetMs: int('RISKCARDS_FETCH_BUDGET_MS', 1500, 50, 60_000),
    bodyLimitBytes: int('RISKCARDS_BODY_LIMIT_KB', 2048, 1, 102_400) * 1024,
    jsonMaxDepth: int('RISKCARDS_JSON_MAX_DEPTH', 64, 4, 1000),
    rateLimitPerMinute: int('RISKCARDS_RATE_LIMIT_PER_MINUTE', 1200, 1, 1_000_000),
    corsOrigins,
    fhirAllowlist: list('RISKCARDS_FHIR_ALLOWLIST', []),
    clockToleranceSec: int('RISKCARDS_CLOCK_TOLERANCE_SEC', 60, 0, 600),
    ...(patientHashKey ? { patientHashKey } : {}),
    explanationTtlSec: int('RISKCARDS_EXPLANATION_TTL_SEC', 86_400, 60, 30 * 86_400),
    logLevel,
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}
