/**
 * Declarative CDS service definitions: one JSON file per service in cds-hooks/. Adding a service
 * is adding a file. Loaded and validated once at start; a bad file stops the service with a
 * sentence naming the file and the field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeRef, FeatureSpec } from '../features/feature-spec.ts';
import { codesReadByModel } from '../features/feature-codes.ts';
import { isKnownHook } from './hook-contexts.ts';

export interface CardPolicy {
  /** What to answer when the model does not apply to the patient: an info card saying why, or no card. */
  notApplicable: 'info-card' | 'no-card';
  /** How many factors the detail table lists (all are in the machine-readable extension). */
  topFactors: number;
}

export interface ServiceDefinition {
  id: string;
  hook: string;
  title: string;
  description: string;
  /** Prefetch templates, keyed by prefetch key (CDS Hooks 2.0 §Prefetch template). */
  prefetch: Record<string, string>;
  /** Which prefetch key holds the Patient resource. */
  patientKey: string;
  /** Model package id (models/<id>/): the primary model (its category sets the card's indicator). */
  model: string;
  /** All models shown together on one card (the primary first); usually just [model]. */
  models: string[];
  cards: CardPolicy;
  usageRequirements?: string;
}

export class ServiceDefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid CDS service definitions:\n- ${problems.join('\n- ')}`);
    this.name = 'ServiceDefinitionError';
  }
}

const ID = /^[A-Za-z0-9\-_.]{1,64}$/;

export function parseServiceDefinition(raw: unknown, file: string, problems: string[]): ServiceDefinition | undefined {
  const p = (msg: string) => problems.push(`${file}: ${msg}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    p('must hold a JSON object.');
    return undefined;
  }
  const d = raw as Record<string, unknown>;
  const str = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string' || v.trim() === '') {
      p(`"${k}" is required and must be a non-empty string.`);
      return '';
    }
    return v;
  };
  const id = str('id');
  if (id && !ID.test(id)) p(`"id" may hold only letters, digits, "-", "_" and "." (it becomes a URL path segment).`);
  const hook = str('hook');
  if (hook && !isKnownHook(hook)) p(`"hook" "${hook}" is not one of the standard hooks this service knows.`);
  const title = str('title');
  const description = str('description');
  let models: string[] = [];
  if (Array.isArray(d.models)) {
    models = d.models.filter((m): m is string => typeof m === 'string' && m !== '');
    if (models.length === 0 || models.length !== d.models.length) p('"models" must be a non-empty array of model package ids.');
    if (d.model !== undefined) p('give either "model" or "models", not both.');
  } else {
    const one = str('model');
    if (one) models = [one];
  }
  const model = models[0] ?? '';

  const prefetch: Record<string, string> = {};
  if (d.prefetch !== undefined) {
    if (typeof d.prefetch !== 'object' || d.prefetch === null || Array.isArray(d.prefetch)) p('"prefetch" must be an object of templates.');
    else
      for (const [k, v] of Object.entries(d.prefetch)) {
        if (typeof v !== 'string' || v === '') p(`prefetch "${k}" must be a template string.`);
        else prefetch[k] = v;
      }
  }
  const patientKey = typeof d.patientKey === 'string' ? d.patientKey : 'patient';
  if (!prefetch[patientKey]) p(`"patientKey" "${patientKey}" must name a prefetch template (the Patient).`);

  const cardsRaw = (d.cards ?? {}) as Record<string, unknown>;
  const notApplicable = cardsRaw.notApplicable ?? 'info-card';
  if (notApplicable !== 'info-card' && notApplicable !== 'no-card') p('cards.notApplicable must be "info-card" or "no-card".');
  const topFactors = cardsRaw.topFactors ?? 6;
  if (typeof topFactors !== 'number' || !Number.isInteger(topFactors) || topFactors < 1 || topFactors > 50) {
    p('cards.topFactors must be a whole number from 1 to 50.');
  }
  if (d.usageRequirements !== undefined && typeof d.usageRequirements !== 'string') p('"usageRequirements" must be a string.');

  return {
    id,
    hook,
    title,
    description,
    prefetch,
    patientKey,
    model,
    models,
    cards: { notApplicable: notApplicable as CardPolicy['notApplicable'], topFactors: topFactors as number },
    ...(typeof d.usageRequirements === 'string' ? { usageRequirements: d.usageRequirements } : {}),
  };
}

/** Reads every *.json in `dir`; `knownModels` are the loaded model ids each service must name. */
export function loadServiceDefinitions(dir: string, knownModels: ReadonlySet<string>): ServiceDefinition[] {
  const problems: string[] = [];
  const services: ServiceDefinition[] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    throw new ServiceDefinitionError([`the services folder ${dir} cannot be read.`]);
  }
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (e) {
      problems.push(`${file}: is not valid JSON (${(e as Error).message}).`);
      continue;
    }
    const def = parseServiceDefinition(raw, file, problems);
    if (!def) continue;
    for (const m of def.models) if (!knownModels.has(m)) problems.push(`${file}: model "${m}" is not a loaded model package.`);
    if (services.some((s) => s.id === def.id)) problems.push(`${file}: service id "${def.id}" is used twice.`);
    services.push(def);
  }
  if (services.length === 0 && problems.length === 0) problems.push(`no service definitions found in ${dir}.`);
  if (problems.length) throw new ServiceDefinitionError(problems);
  return services;
}

/** The discovery document (CDS Hooks 2.0 §Discovery response). */
export function discoveryDocument(services: readonly ServiceDefinition[]): { services: unknown[] } {
  return {
    services: services.map((s) => ({
      hook: s.hook,
      title: s.title,
      description: s.description,
      id: s.id,
      ...(Object.keys(s.prefetch).length ? { prefetch: s.prefetch } : {}),
      ...(s.usageRequirements ? { usageRequirements: s.usageRequirements } : {}),
    })),
  };
}

/**
 * Expands `{{model.codes.<ResourceType>}}` in prefetch templates into the comma-separated
 * `system|code` list of every code the model's features read from that resource type, so that
 * the published prefetch queries can never drift from the feature specs. Prefix codes (ICD-10
 * families) cannot be searched exactly and are left to the unfiltered queries.
 */
export function bindPrefetchToModel(def: ServiceDefinition, features: readonly FeatureSpec[]): ServiceDefinition {
  const codes = codesReadByModel(features);
  return bindPrefetch(def, codes);
}

/** Binds the prefetch templates to every model the service shows (the union of their codes). */
export function bindPrefetchToModels(def: ServiceDefinition, featureSets: readonly (readonly FeatureSpec[])[]): ServiceDefinition {
  const codes = new Map<string, CodeRef[]>();
  for (const fs of featureSets) for (const [type, refs] of codesReadByModel(fs)) codes.set(type, [...(codes.get(type) ?? []), ...refs]);
  return bindPrefetch(def, codes);
}

function bindPrefetch(def: ServiceDefinition, codes: Map<string, CodeRef[]>): ServiceDefinition {
  const prefetch: Record<string, string> = {};
  for (const [key, template] of Object.entries(def.prefetch)) {
    prefetch[key] = template.replace(/\{\{\s*model\.codes\.([A-Za-z]+)\s*\}\}/g, (_, type: string) => {
      const exact = [...new Set((codes.get(type) ?? []).filter((r) => !r.prefix).map((r) => `${r.system}|${r.code}`))];
      if (!exact.length) throw new ServiceDefinitionError([`service "${def.id}": prefetch "${key}" asks for model codes of ${type}, but model "${def.model}" reads none.`]);
      return exact.join(',');
    });
  }
  return { ...def, prefetch };
}
