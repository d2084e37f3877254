/**
 * The CDS Hooks 2.0 card rules, checked on every card a test sees
 * (https://cds-hooks.hl7.org/2.0/#card-attributes, #source, #suggestion, #action, #link,
 * and §Use of JSON: no null or empty elements).
 */
import assert from 'node:assert/strict';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertNoNullOrEmpty(value: unknown, path: string): void {
  assert.notEqual(value, null, `${path} is null`);
  if (typeof value === 'string') assert.notEqual(value, '', `${path} is an empty string`);
  if (Array.isArray(value)) {
    assert.ok(value.length > 0 || path.endsWith('.cards'), `${path} is an empty array`);
    value.forEach((v, i) => assertNoNullOrEmpty(v, `${path}[${i}]`));
  } else if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    assert.ok(keys.length > 0, `${path} is an empty object`);
    for (const k of keys) assertNoNullOrEmpty((value as Record<string, unknown>)[k], `${path}.${k}`);
  }
}

export function assertSpecValidResponse(body: unknown, publicUrl: string): void {
  assert.equal(typeof body, 'object');
  const cards = (body as { cards?: unknown }).cards;
  assert.ok(Array.isArray(cards), 'response has a cards array');
  assertNoNullOrEmpty(body, '$');
  for (const card of cards) assertSpecValidCard(card, publicUrl);
}

export function assertSpecValidCard(card: Record<string, any>, publicUrl: string): void {
  assert.match(card.uuid, UUID, 'card.uuid is a UUID string');
  assert.equal(typeof card.summary, 'string');
  assert.ok(card.summary.length < 140, `summary under 140 characters: ${card.summary.length}`);
  assert.ok(['info', 'warning', 'critical'].includes(card.indicator), 'indicator');
  assert.equal(typeof card.source?.label, 'string', 'source.label');
  if (card.source.url) assert.ok(card.source.url.startsWith(publicUrl), 'source.url is ours and absolute');
  if (card.source.topic) assert.equal(typeof card.source.topic.code, 'string');
  if (card.detail !== undefined) {
    assert.equal(typeof card.detail, 'string');
    assert.ok(!/<[a-zA-Z!/]/.test(card.detail), 'detail has no raw HTML');
    assert.ok(!/\]\((?!https?:)/.test(card.detail), 'detail has no non-http markdown link');
  }
  if (card.suggestions) {
    assert.ok(['at-most-one', 'any'].includes(card.selectionBehavior), 'selectionBehavior present with suggestions');
    for (const s of card.suggestions) {
      assert.equal(typeof s.label, 'string');
      if (s.uuid !== undefined) assert.equal(typeof s.uuid, 'string');
      if (s.isRecommended !== undefined) assert.equal(typeof s.isRecommended, 'boolean');
      for (const a of s.actions ?? []) {
        assert.ok(['create', 'update', 'delete'].includes(a.type));
        assert.equal(typeof a.description, 'string');
        if (a.type === 'create') assert.equal(typeof a.resource?.resourceType, 'string', 'create carries a FHIR resource');
      }
    }
  } else {
    assert.equal(card.selectionBehavior, undefined, 'no selectionBehavior without suggestions');
  }
  for (const r of card.overrideReasons ?? []) {
    assert.equal(typeof r.code, 'string');
    assert.equal(typeof r.display, 'string', 'override reasons carry a display');
  }
  for (const l of card.links ?? []) {
    assert.equal(typeof l.label, 'string');
    assert.ok(['absolute', 'smart'].includes(l.type));
    assert.ok(l.url.startsWith(publicUrl), `links point to our public URL: ${l.url}`);
  }
}
