/**
 * Builds the three AHA PREVENT packages from this folder's sources:
 *
 *   node --import tsx models/prevent-build/build-packages.ts
 *
 * writes models/prevent-total-cvd, models/prevent-ascvd and models/prevent-hf, each with
 *   model.onnx     the outcome's graph (prevent-graph.ts, coefficients from prevent_base_10yr.csv)
 *   features.json  a copy of ./features.json (the three share one feature file)
 *   manifest.json  from prevent-manifest.ts, with the graph's sha256 and the reference cases of
 *                  ./reference-cases.json
 * The build is deterministic: a test checks that the committed files are what it writes.
 * This folder has no manifest.json, so the service does not load it as a package.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildPreventOnnx } from './prevent-graph.ts';
import { PACKAGES, preventManifest, type PackageId, type ReferenceVector } from './prevent-manifest.ts';

const HERE = new URL('./', import.meta.url);

export interface PackageFiles {
  id: PackageId;
  onnx: Uint8Array;
  /** manifest.json and features.json as they are written (UTF-8 text). */
  manifest: string;
  features: string;
}

export function referenceVectors(): ReferenceVector[] {
  return (JSON.parse(readFileSync(new URL('reference-cases.json', HERE), 'utf8')) as { cases: ReferenceVector[] }).cases;
}

/** The files of the three packages, built in memory. */
export function buildPreventPackages(): PackageFiles[] {
  const features = readFileSync(new URL('features.json', HERE), 'utf8');
  const vectors = referenceVectors();
  return PACKAGES.map(({ id, outcome }) => {
    const onnx = buildPreventOnnx(outcome);
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    return { id, onnx, features, manifest: JSON.stringify(preventManifest(outcome, sha256, vectors), null, 2) + '\n' };
  });
}

function main(): void {
  for (const p of buildPreventPackages()) {
    const dir = new URL(`../${p.id}/`, HERE);
    mkdirSync(dir, { recursive: true });
    // manifest.json last: the service loads a folder once it has one, so it appears only when the rest is there.
    writeFileSync(new URL('model.onnx', dir), p.onnx);
    writeFileSync(new URL('features.json', dir), p.features);
    writeFileSync(new URL('manifest.json', dir), p.manifest);
    process.stdout.write(`wrote models/${p.id} (model.onnx ${p.onnx.length} bytes)\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
