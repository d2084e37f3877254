/** docs/conformance.md is generated from the tests and cannot drift; every SHALL requirement is tested or has a reason. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { matrixMarkdown, reasons, requirements, taggedTests } from '../../scripts/conformance-matrix.ts';

test('docs/conformance.md is what the generator makes from the tests today', () => {
  const committed = readFileSync(new URL('../../docs/conformance.md', import.meta.url), 'utf8');
  assert.equal(committed, matrixMarkdown(), 'run: node --import tsx scripts/conformance-matrix.ts');
});

test('every CDS Hooks 2.0 SHALL / SHALL NOT requirement is tested or has a stated reason, and none is "not met" silently', () => {
  const tests = taggedTests();
  const why = reasons();
  const shall = requirements().filter((r) => r.conformance.startsWith('SHALL'));
  assert.equal(shall.length, 73);
  const uncovered = shall.filter((r) => !tests.has(r.id) && !why[r.id]).map((r) => r.id);
  assert.deepEqual(uncovered, []);
  for (const [id, w] of Object.entries(why)) assert.ok(w.reason.length > 20, `reason for ${id}`);
});
