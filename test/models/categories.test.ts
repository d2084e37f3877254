import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { categorize, categoryProblems } from '../../src/models/categories.ts';
import type { CategorySpec } from '../../src/models/manifest.ts';

const categories: CategorySpec[] = [
  { code: 'low', label: 'Low', below: 0.1, indicator: 'info' },
  { code: 'mid', label: 'Middle', below: 0.3, indicator: 'warning' },
  { code: 'high', label: 'High', indicator: 'critical' },
];

describe('categorize', () => {
  test('a risk exactly at a bound belongs to the category above it', () => {
    assert.equal(categorize({ id: 'm', categories }, 0.1).code, 'mid');
    assert.equal(categorize({ id: 'm', categories }, 0.0999999).code, 'low');
    assert.equal(categorize({ id: 'm', categories }, 0.3).code, 'high');
  });

  test('the category carries its label and indicator', () => {
    assert.deepEqual(categorize({ id: 'm', categories }, 0.5), { code: 'high', label: 'High', indicator: 'critical' });
  });

  test('a risk that is not a number is an error, not a category', () => {
    assert.throws(() => categorize({ id: 'm', categories }, Number.NaN), /not a number/);
  });
});

describe('categoryProblems', () => {
  test('a well-formed list has no problems', () => {
    assert.deepEqual(categoryProblems(categories), []);
  });

  test('bounds that do not rise, a bounded last category and an unknown indicator are each named', () => {
    const problems = categoryProblems([
      { code: 'a', label: 'A', below: 0.2, indicator: 'info' },
      { code: 'b', label: 'B', below: 0.1, indicator: 'loud' as 'info' },
      { code: 'c', label: 'C', below: 0.5, indicator: 'critical' },
    ]);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('"b"') && p.includes('higher upper bound')));
    assert.ok(problems.some((p) => p.includes('"loud"')));
    assert.ok(problems.some((p) => p.includes('last category "c"')));
  });
});
