/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. Service paths are
 * listed from the loaded service definitions so the document matches what is deployed.
 */
import type { ServiceDefinition } from '../cds/service-definitions.ts';

const outcome = { $ref: '#/components/schemas/OperationOutcome' };
const errors = {
  '400': { description: 'Invalid request; the OperationOutcome names the field in issue[].expression', content: { 'application/fhir+json': { schema: outcome } } },
  '401': { description: 'Missing or invalid client JWT (empty body)' },
  '404': { description: 'Unknown service', content: { 'application/fhir+json': { schema: outcome } } },
  '413': { description: 'Body too large', content: { 'application/fhir+json': { schema: outcome } } },
  '429': { description: 'Rate limit exceeded', content: { 'application/fhir+json': { schema: outcome } } },
};

export function openApiDocument(services: readonly ServiceDefinition[], publicUrl: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/cds-services': {
      get: {
        summary: 'CDS Hooks discovery',
        security: [{ clientJwt: [] }],
        responses: { '200': { description: 'The services', content: { 'application/json': { schema: { $ref: '#/components/schemas/Discovery' } } } }, '401': errors['401'] },
      },
    },
    '/cds-services/{id}': {
      post: {
        summary: 'Call a CDS service (CDS Hooks 2.0 HTTP request)',
        security: [{ clientJwt: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', enum: services.map((s) => s.id) } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/HookRequest' } } } },
        responses: {
          '200': { description: 'Cards (possibly none)', content: { 'application/json': { schema: { $ref: '#/components/schemas/CardsResponse' } } } },
          ...errors,
          '412': { description: 'Needed data could be neither prefetched nor fetched', content: { 'application/fhir+json': { schema: outcome } } },
        },
      },
    },
    '/cds-services/{id}/feedback': {
      post: {
        summary: 'Feedback on cards (accepted / overridden); 200 means stored',
        security: [{ clientJwt: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Feedback' } } } },
        responses: { '200': { description: 'Committed', content: { 'application/json': { schema: { type: 'object', properties: { stored: { type: 'integer' }, duplicates: { type: 'integer' } } } } } }, ...errors },
      },
    },
    '/models': { get: { summary: 'Bundled model packages', responses: { '200': { description: 'Models' } } } },
    '/models/{id}': { get: { summary: 'A model package: inputs, codes, categories, model card (JSON)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Model' }, '404': errors['404'] } } },
    '/models/{id}/card': { get: { summary: 'The model card page (HTML)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'HTML page', content: { 'text/html': {} } } } } },
    '/explanations/{opaqueId}': { get: { summary: 'Full explanation of one prediction (HTML; the id expires)', parameters: [{ name: 'opaqueId', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'HTML page', content: { 'text/html': {} } }, '404': errors['404'] } } },
    '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
    '/readyz': { get: { summary: 'Readiness: models loaded and store reachable', responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain exposition format' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'RiskCards CDS Hooks API', version, description: 'CDS Hooks 2.0 services with explained risk models. See https://cds-hooks.hl7.org/2.0/.' },
    servers: [{ url: publicUrl }],
    paths,
    components: {
      securitySchemes: { clientJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'CDS Hooks 2.0 client JWT (ES384/RS384/ES256/RS256), aud = the URL called' } },
      schemas: {
        OperationOutcome: { type: 'object', required: ['resourceType', 'issue'], properties: { resourceType: { const: 'OperationOutcome' }, issue: { type: 'array', items: { type: 'object', properties: { severity: { type: 'string' }, code: { type: 'string' }, diagnostics: { type: 'string' }, expression: { type: 'array', items: { type: 'string' } } } } } } },
        Discovery: { type: 'object', required: ['services'], properties: { services: { type: 'array', items: { type: 'object', required: ['hook', 'description', 'id'], properties: { hook: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, id: { type: 'string' }, prefetch: { type: 'object', additionalProperties: { type: 'string' } } } } } } },
        HookRequest: { type: 'object', required: ['hook', 'hookInstance', 'context'], properties: { hook: { type: 'string' }, hookInstance: { type: 'string' }, fhirServer: { type: 'string', format: 'uri' }, fhirAuthorization: { type: 'object', required: ['access_token', 'token_type'], properties: { access_token: { type: 'string' }, token_type: { const: 'Bearer' }, expires_in: { type: 'number' }, scope: { type: 'string' }, subject: { type: 'string' } } }, context: { type: 'object' }, prefetch: { type: 'object' } } },
        CardsResponse: { type: 'object', required: ['cards'], properties: { cards: { type: 'array', items: { type: 'object', required: ['summary', 'indicator', 'source'], properties: { uuid: { type: 'string' }, summary: { type: 'string', maxLength: 139 }, detail: { type: 'string' }, indicator: { enum: ['info', 'warning', 'critical'] }, source: { type: 'object' }, suggestions: { type: 'array' }, selectionBehavior: { enum: ['at-most-one', 'any'] }, overrideReasons: { type: 'array' }, links: { type: 'array' }, extension: { type: 'object', description: 'riskcards.prediction: modelId, modelVersion, risk, referenceRisk, category, inputs, contributions' } } } } } },
        Feedback: { type: 'object', required: ['feedback'], properties: { feedback: { type: 'array', items: { type: 'object', required: ['card', 'outcome', 'outcomeTimestamp'], properties: { card: { type: 'string' }, outcome: { enum: ['accepted', 'overridden'] }, acceptedSuggestions: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } }, overrideReason: { type: 'object' }, outcomeTimestamp: { type: 'string', format: 'date-time' } } } } } },
      },
    },
  };
}
