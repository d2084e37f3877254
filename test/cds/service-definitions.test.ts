import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindPrefetchToModel, discoveryDocument, loadServiceDefinitions, ServiceDefinitionError } from '../../src/cds/service-definitions.ts';
import type { FeatureSpec } from '../../src/features/feature-spec.ts';

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rc-services-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const good = {
  id: 'risk-a',
  hook: 'patient-view',
  title: 'Risk A',
  description: 'A test service',
  model: 'm1',
  prefetch: { patient: 'Patient/{{context.patientId}}' },
};

test('the repository\'s own service definitions load and name bundled models', () => {
  const services = loadServiceDefinitions(new URL('../../cds-hooks/', import.meta.url).pathname, new Set(['pce-ascvd', 'pima-diabetes', 'prevent-total-cvd', 'prevent-ascvd', 'prevent-hf']));
  assert.ok(services.length >= 1);
  for (const s of services) assert.ok(s.prefetch[s.patientKey]);
});

test('a definition file becomes a discovery entry with its prefetch templates', () => {
  const services = loadServiceDefinitions(dirWith({ 'a.json': good }), new Set(['m1']));
  assert.deepEqual(discoveryDocument(services), {
    services: [{ hook: 'patient-view', title: 'Risk A', description: 'A test service', id: 'risk-a', prefetch: good.prefetch }],
  });
});

test('bad definitions are refused with a sentence naming file and field', () => {
  const dir = dirWith({
    'bad-hook.json': { ...good, id: 'x', hook: 'patient-jump' },
    'bad-model.json': { ...good, id: 'y', model: 'nope' },
    'not-json.json': '{',
    'dup.json': { ...good },
  });
  try {
    loadServiceDefinitions(dir, new Set(['m1']));
    assert.fail('expected ServiceDefinitionError');
  } catch (e) {
    assert.ok(e instanceof ServiceDefinitionError);
    const text = e.problems.join('\n');
    assert.match(text, /bad-hook\.json: "hook" "patient-jump"/);
    assert.match(text, /bad-model\.json: model "nope"/);
    assert.match(text, /not-json\.json: is not valid JSON/);
  }
});

test('{{model.codes.Observation}} expands to every code the model reads from Observations', () => {
  const features = [
    { id: 'hdl', label: 'HDL', unit: 'mg/dL', source: 'observation-quantity', codes: [{ system: 'http://loinc.org', code: '2085-9' }], lookback: 'P5Y', aggregation: 'latest', missing: { policy: 'required' } },
    { id: 'sbp', label: 'SBP', unit: 'mm[Hg]', source: 'observation-quantity', codes: [{ system: 'http://loinc.org', code: '8480-6' }], panels: [{ codes: [{ system: 'http://loinc.org', code: '85354-9' }], valuePath: 'x' }], lookback: 'P2Y', aggregation: 'latest', missing: { policy: 'required' } },
    { id: 'dm', label: 'Diabetes', unit: '1', source: 'coded-flag', combine: 'any', evidence: [{ resourceType: 'Condition', codes: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11', prefix: true }] }], missing: { policy: 'impute', value: 0 } },
  ] as FeatureSpec[];
  const bound = bindPrefetchToModel({ ...good, models: [good.model], patientKey: 'patient', cards: { notApplicable: 'info-card', topFactors: 5 }, prefetch: { ...good.prefetch, obs: 'Observation?patient={{context.patientId}}&code={{model.codes.Observation}}' } }, features);
  assert.equal(bound.prefetch.obs, 'Observation?patient={{context.patientId}}&code=http://loinc.org|2085-9,http://loinc.org|8480-6,http://loinc.org|85354-9');
});
