/**
 * Docker cannot run here, so the deployment files are checked for what can be checked: the
 * Kubernetes manifests parse and agree with the service's port, probes and settings, and the
 * Dockerfile is multi-stage, non-root, production-only, with a health check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const DIR = new URL('../../deploy/kubernetes/', import.meta.url);
const docs = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(new URL(f, DIR), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as any })));
const kind = (k: string) => docs.find((d) => d.doc?.kind === k)?.doc;

test('the manifests parse and hold Deployment, Service, HPA, PDB, ConfigMap and Secret', () => {
  for (const k of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ConfigMap', 'Secret']) assert.ok(kind(k), k);
});

test('the ConfigMap holds only settings the service accepts, and they validate', () => {
  const data = kind('ConfigMap').data as Record<string, string>;
  for (const name of Object.keys(data)) assert.ok(name === 'PORT' || name.startsWith('RISKCARDS_'), name);
  const config = loadConfig({ ...data, RISKCARDS_TRUSTED_CLIENTS: 'x.json' });
  assert.equal(config.host, '0.0.0.0');
  const container = kind('Deployment').spec.template.spec.containers[0];
  assert.equal(container.ports[0].containerPort, config.port);
  assert.equal(kind('Service').spec.ports[0].targetPort, container.ports[0].name);
});

test('probes hit /readyz and /healthz on the service port; shared state goes to PostgreSQL', () => {
  const spec = kind('Deployment').spec;
  const c = spec.template.spec.containers[0];
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.ok(c.env.some((e: any) => e.name === 'DATABASE_URL' && e.valueFrom.secretKeyRef), 'DATABASE_URL from the Secret');
  assert.ok(c.env.some((e: any) => e.name === 'RISKCARDS_PATIENT_HASH_KEY'), 'one patient-hash key shared by replicas');
  assert.equal(spec.template.spec.securityContext.runAsNonRoot, true);
  assert.ok(spec.replicas >= 2);
  assert.equal(kind('HorizontalPodAutoscaler').spec.scaleTargetRef.name, kind('Deployment').metadata.name);
  assert.deepEqual(kind('PodDisruptionBudget').spec.selector.matchLabels, spec.selector.matchLabels);
  const mount = c.volumeMounts.find((m: any) => m.name === 'trusted-clients');
  assert.equal(`${mount.mountPath}/trusted-clients.json`, kind('ConfigMap').data.RISKCARDS_TRUSTED_CLIENTS);
});

test('the Dockerfile is multi-stage, production-only, non-root, skips the GPU download and has a health check', () => {
  const df = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  assert.ok((df.match(/^FROM /gm) ?? []).length >= 2);
  assert.match(df, /npm ci --omit=dev/);
  assert.match(df, /ONNXRUNTIME_NODE_INSTALL=skip/);
  assert.match(df, /^USER node/m);
  assert.match(df, /^HEALTHCHECK .*\n?.*\/healthz/m);
  assert.match(df, /EXPOSE 8080/);
});
