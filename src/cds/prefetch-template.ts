/**
 * Renders CDS Hooks 2.0 prefetch templates (specification §Prefetch template, §Prefetch tokens):
 * `{{context.<field>}}` for a root-level context field with a primitive value, and the user
 * identifiers `{{userPractitionerId}}`, `{{userPractitionerRoleId}}`, `{{userPatientId}}`,
 * `{{userRelatedPersonId}}`, taken from `context.userId` ("Practitioner/123" gives
 * userPractitionerId "123").
 */

export type PrefetchTokenProblem = 'unknown-token' | 'missing-value' | 'invalid-value';

/** A template that cannot be rendered; `token` names the token as written, e.g. "context.encounterId". */
export class PrefetchTemplateError extends Error {
  constructor(
    readonly token: string,
    readonly problem: PrefetchTokenProblem,
  ) {
    super(
      problem === 'unknown-token'
        ? `The prefetch token {{${token}}} is not a CDS Hooks prefetch token.`
        : problem === 'missing-value'
          ? `The prefetch token {{${token}}} has no value in this hook's context.`
          : `The value of the prefetch token {{${token}}} cannot be put into a URL.`,
    );
    this.name = 'PrefetchTemplateError';
  }
}

const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;
const CONTEXT_FIELD = /^context\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** User tokens and the resource type `context.userId` must name for each. */
const USER_TOKENS: Readonly<Record<string, string>> = {
  userPractitionerId: 'Practitioner',
  userPractitionerRoleId: 'PractitionerRole',
  userPatientId: 'Patient',
  userRelatedPersonId: 'RelatedPerson',
};

/**
 * The rendered FHIR query, relative to the FHIR server's base. Every value is percent-encoded
 * (encodeURIComponent), so a context value can neither add query parameters nor path segments.
 */
export function renderPrefetchTemplate(template: string, context: Readonly<Record<string, unknown>>): string {
  return template.replace(TOKEN, (_whole, token: string) => {
    const value = tokenValue(token, context);
    try {
      return encodeURIComponent(value);
    } catch {
      // A lone UTF-16 surrogate (valid in JSON) has no UTF-8 form to percent-encode.
      throw new PrefetchTemplateError(token, 'invalid-value');
    }
  });
}

function tokenValue(token: string, context: Readonly<Record<string, unknown>>): string {
  const field = CONTEXT_FIELD.exec(token)?.[1];
  if (field !== undefined) {
    const value = Object.hasOwn(context, field) ? context[field] : undefined;
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'boolean') return String(value);
    throw new PrefetchTemplateError(token, 'missing-value');
  }
  const type = Object.hasOwn(USER_TOKENS, token) ? USER_TOKENS[token] : undefined;
  if (type === undefined) throw new PrefetchTemplateError(token, 'unknown-token');
  const id = userIdOfType(context.userId, type);
  if (id === undefined) throw new PrefetchTemplateError(token, 'missing-value');
  return id;
}

/** The id in `userId` when it names a resource of `type` ("Practitioner/123", or an absolute URL ending so). */
function userIdOfType(userId: unknown, type: string): string | undefined {
  if (typeof userId !== 'string') return undefined;
  const parts = userId.split('/');
  const id = parts.at(-1);
  return parts.at(-2) === type && id ? id : undefined;
}

/** The tokens a template uses, as written ("context.patientId", "userPractitionerId"). */
export function prefetchTokens(template: string): string[] {
  return [...new Set([...template.matchAll(TOKEN)].map((m) => m[1]!))];
}

/**
 * The context fields a set of templates needs (user tokens need `userId`), sorted, so a request
 * can be checked before any template is rendered. Throws PrefetchTemplateError for an unknown token.
 */
export function prefetchKeysNeeded(templates: Readonly<Record<string, string>>): string[] {
  const needed = new Set<string>();
  for (const template of Object.values(templates)) {
    for (const token of prefetchTokens(template)) {
      const field = CONTEXT_FIELD.exec(token)?.[1];
      if (field !== undefined) needed.add(field);
      else if (Object.hasOwn(USER_TOKENS, token)) needed.add('userId');
      else throw new PrefetchTemplateError(token, 'unknown-token');
    }
  }
  return [...needed].sort();
}
