import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFeedbackRequest, type FeedbackItem } from '../../src/cds/feedback.ts';
import { HttpError } from '../../src/errors.ts';

const CARD = '9b2f6b0c-3c1e-4b8a-9d7e-2f1a0c5e7d11';
const accepted = { card: CARD, outcome: 'accepted', acceptedSuggestions: [{ id: 'sugg-1' }], outcomeTimestamp: '2026-01-31T14:05:00Z' };
const overridden = {
  card: CARD,
  outcome: 'overridden',
  overrideReason: { reason: { code: 'patient-declined', system: 'https://riskcards.example/override', display: 'Patient declined' }, userComment: 'Discussed at visit' },
  outcomeTimestamp: '2026-01-31T14:06:00.250+01:00',
};

/** The field a rejection names (OperationOutcome.issue.expression). */
function rejectionField(body: unknown): string | undefined {
  try {
    parseFeedbackRequest(body);
  } catch (e) {
    assert.ok(e instanceof HttpError, 'only HttpError escapes');
    assert.equal(e.status, 400);
    assert.equal(e.code, 'RC_BAD_REQUEST');
    return e.issue.expression?.[0];
  }
  return undefined;
}

describe('CDS Hooks feedback body', () => {
  test('an accepted and an overridden card from the spec example are read as given', () => {
    const items = parseFeedbackRequest({ feedback: [accepted, overridden] });
    assert.deepEqual(items, [accepted, overridden]);
  });

  test('unknown extra fields are tolerated and dropped', () => {
    const items = parseFeedbackRequest({ extension: { a: 1 }, feedback: [{ ...accepted, vendorField: true, acceptedSuggestions: [{ id: 's', label: 'x' }] }] });
    assert.deepEqual(items, [{ card: CARD, outcome: 'accepted', acceptedSuggestions: [{ id: 's' }], outcomeTimestamp: accepted.outcomeTimestamp }]);
  });

  test('an override with only a comment, and lower-case RFC 3339 separators, are accepted', () => {
    const items = parseFeedbackRequest({ feedback: [{ card: CARD, outcome: 'overridden', overrideReason: { userComment: 'not relevant' }, outcomeTimestamp: '2026-01-31t14:05:00z' }] });
    assert.deepEqual(items[0]!.overrideReason, { userComment: 'not relevant' });
  });

  const negative: [string, unknown, string][] = [
    ['a body that is not an object', [accepted], '$'],
    ['a body that is null', null, '$'],
    ['no feedback array', { cards: [accepted] }, 'feedback'],
    ['an empty feedback array', { feedback: [] }, 'feedback'],
    ['more than 500 items', { feedback: Array.from({ length: 501 }, () => accepted) }, 'feedback'],
    ['an item that is a string', { feedback: [accepted, 'x'] }, 'feedback[1]'],
    ['no card', { feedback: [{ ...accepted, card: undefined }] }, 'feedback[0].card'],
    ['an empty card', { feedback: [{ ...accepted, card: '' }] }, 'feedback[0].card'],
    ['a numeric card', { feedback: [{ ...accepted, card: 42 }] }, 'feedback[0].card'],
    ['an unknown outcome', { feedback: [{ ...accepted, outcome: 'ignored' }] }, 'feedback[0].outcome'],
    ['an outcome in capitals', { feedback: [{ ...accepted, outcome: 'Accepted' }] }, 'feedback[0].outcome'],
    ['no outcomeTimestamp', { feedback: [accepted, accepted, { ...accepted, outcomeTimestamp: undefined }] }, 'feedback[2].outcomeTimestamp'],
    ['a date without a time', { feedback: [{ ...accepted, outcomeTimestamp: '2026-01-31' }] }, 'feedback[0].outcomeTimestamp'],
    ['a time without a zone', { feedback: [{ ...accepted, outcomeTimestamp: '2026-01-31T14:05:00' }] }, 'feedback[0].outcomeTimestamp'],
    ['a time without seconds', { feedback: [{ ...accepted, outcomeTimestamp: '2026-01-31T14:05Z' }] }, 'feedback[0].outcomeTimestamp'],
    ['the 30th of February', { feedback: [{ ...accepted, outcomeTimestamp: '2026-02-30T10:00:00Z' }] }, 'feedback[0].outcomeTimestamp'],
    ['hour 24', { feedback: [{ ...accepted, outcomeTimestamp: '2026-01-31T24:00:00Z' }] }, 'feedback[0].outcomeTimestamp'],
    ['a zone offset of +25:00', { feedback: [{ ...accepted, outcomeTimestamp: '2026-01-31T10:00:00+25:00' }] }, 'feedback[0].outcomeTimestamp'],
    ['epoch milliseconds', { feedback: [{ ...accepted, outcomeTimestamp: 1769868300000 }] }, 'feedback[0].outcomeTimestamp'],
    ['acceptedSuggestions on an override', { feedback: [{ ...overridden, acceptedSuggestions: [{ id: 'a' }] }] }, 'feedback[0].acceptedSuggestions'],
    ['overrideReason on an acceptance', { feedback: [{ ...accepted, overrideReason: { userComment: 'x' } }] }, 'feedback[0].overrideReason'],
    ['acceptedSuggestions that is an object', { feedback: [{ ...accepted, acceptedSuggestions: { id: 'a' } }] }, 'feedback[0].acceptedSuggestions'],
    ['a suggestion without an id', { feedback: [{ ...accepted, acceptedSuggestions: [{ id: 'a' }, { label: 'b' }] }] }, 'feedback[0].acceptedSuggestions[1].id'],
    ['overrideReason that is a string', { feedback: [{ ...overridden, overrideReason: 'because' }] }, 'feedback[0].overrideReason'],
    ['a reason Coding without a code', { feedback: [{ ...overridden, overrideReason: { reason: { system: 'x', display: 'y' } } }] }, 'feedback[0].overrideReason.reason.code'],
    ['a reason that is a bare string', { feedback: [{ ...overridden, overrideReason: { reason: 'declined' } }] }, 'feedback[0].overrideReason.reason.code'],
    ['a numeric reason system', { feedback: [{ ...overridden, overrideReason: { reason: { code: 'c', system: 7 } } }] }, 'feedback[0].overrideReason.reason.system'],
    ['a numeric reason display', { feedback: [{ ...overridden, overrideReason: { reason: { code: 'c', display: 7 } } }] }, 'feedback[0].overrideReason.reason.display'],
    ['a user comment longer than 4000 characters', { feedback: [{ ...overridden, overrideReason: { userComment: 'x'.repeat(4001) } }] }, 'feedback[0].overrideReason.userComment'],
  ];
  for (const [what, body, field] of negative) {
    test(`${what} is a 400 naming ${field}`, () => {
      assert.equal(rejectionField(body), field);
    });
  }

  test('any JSON value either parses into well-formed items or is a 400 (never another error)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ feedback: fc.array(fc.jsonValue(), { maxLength: 4 }) })), (body) => {
        let items: FeedbackItem[];
        try {
          items = parseFeedbackRequest(body);
        } catch (e) {
          return e instanceof HttpError && e.status === 400;
        }
        return items.length > 0 && items.every((it) => typeof it.card === 'string' && (it.outcome === 'accepted' || it.outcome === 'overridden') && !Number.isNaN(Date.parse(it.outcomeTimestamp)));
      }),
      { numRuns: 500 },
    );
  });

  test('every valid timestamp between 1970 and 2100 round-trips to the same instant', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        const [item] = parseFeedbackRequest({ feedback: [{ card: CARD, outcome: 'accepted', outcomeTimestamp: iso }] });
        return Date.parse(item!.outcomeTimestamp) === d.getTime();
      }),
      { numRuns: 300 },
    );
  });
});
