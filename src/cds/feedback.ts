/**
 * Validation of a CDS Hooks 2.0 feedback request (https://cds-hooks.hl7.org/2.0/#feedback):
 * `{ feedback: [ { card, outcome, acceptedSuggestions?, overrideReason?, outcomeTimestamp } ] }`.
 * Bad input is a 400 naming the field; unknown extra fields are tolerated.
 */
import { badRequest } from '../errors.ts';

export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: { id: string }[];
  overrideReason?: { reason?: { code: string; system?: string; display?: string }; userComment?: string };
  outcomeTimestamp: string;
}

const MAX_ITEMS = 500;
/**
 * RFC 3339 §5.6 date-time, which the spec names for outcomeTimestamp: seconds and a zone are
 * required; "t"/"z" may be lower case (RFC 3339 §5.6 note). Leap seconds are refused because
 * neither JavaScript nor PostgreSQL keeps them.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

function isDateTime(v: unknown): v is string {
  const m = typeof v === 'string' ? DATE_TIME.exec(v) : null;
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Day 0 of the next month is the last day of this one (Date.UTC rolls over, so this gives 28..31).
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && offsetOk;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shortString = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

export function parseFeedbackRequest(body: unknown): FeedbackItem[] {
  if (!isObject(body)) throw badRequest('The feedback body must be a JSON object.', '$');
  const list = body.feedback;
  if (!Array.isArray(list) || list.length === 0) throw badRequest('feedback must be a non-empty array.', 'feedback');
  if (list.length > MAX_ITEMS) throw badRequest(`feedback may hold at most ${MAX_ITEMS} items.`, 'feedback');
  return list.map((raw, i) => {
    const at = (f: string) => `feedback[${i}]${f ? `.${f}` : ''}`;
    if (!isObject(raw)) throw badRequest('Each feedback item must be an object.', at(''));
    const { card, outcome, acceptedSuggestions, overrideReason, outcomeTimestamp } = raw;
    if (!shortString(card, 128)) throw badRequest('card must be the uuid of the card.', at('card'));
    if (outcome !== 'accepted' && outcome !== 'overridden') throw badRequest('outcome must be "accepted" or "overridden".', at('outcome'));
    if (!isDateTime(outcomeTimestamp)) {
      throw badRequest('outcomeTimestamp must be an RFC 3339 date-time with seconds and a time zone, e.g. 2026-01-31T14:05:00Z.', at('outcomeTimestamp'));
    }
    const item: FeedbackItem = { card, outcome, outcomeTimestamp };
    if (acceptedSuggestions !== undefined) {
      if (outcome !== 'accepted') throw badRequest('acceptedSuggestions goes only with outcome "accepted".', at('acceptedSuggestions'));
      if (!Array.isArray(acceptedSuggestions) || acceptedSuggestions.length > 100) throw badRequest('acceptedSuggestions must be an array.', at('acceptedSuggestions'));
      item.acceptedSuggestions = acceptedSuggestions.map((s, j) => {
        if (!isObject(s) || !shortString(s.id, 128)) throw badRequest('Each accepted suggestion needs an id.', at(`acceptedSuggestions[${j}].id`));
        return { id: s.id };
      });
    }
    if (overrideReason !== undefined) {
      if (outcome !== 'overridden') throw badRequest('overrideReason goes only with outcome "overridden".', at('overrideReason'));
      if (!isObject(overrideReason)) throw badRequest('overrideReason must be an object.', at('overrideReason'));
      const { reason, userComment } = overrideReason;
      const out: NonNullable<FeedbackItem['overrideReason']> = {};
      if (reason !== undefined) {
        if (!isObject(reason) || !shortString(reason.code, 128)) throw badRequest('overrideReason.reason must be a Coding with a code.', at('overrideReason.reason.code'));
        if (reason.system !== undefined && !shortString(reason.system, 512)) throw badRequest('overrideReason.reason.system must be a string.', at('overrideReason.reason.system'));
        if (reason.display !== undefined && !shortString(reason.display, 512)) throw badRequest('overrideReason.reason.display must be a string of at most 512 characters.', at('overrideReason.reason.display'));
        out.reason = { code: reason.code, ...(typeof reason.system === 'string' ? { system: reason.system } : {}), ...(typeof reason.display === 'string' ? { display: reason.display } : {}) };
      }
      if (userComment !== undefined) {
        if (typeof userComment !== 'string' || userComment.length > 4000) throw badRequest('overrideReason.userComment must be a string of at most 4000 characters.', at('overrideReason.userComment'));
        out.userComment = userComment;
      }
      item.overrideReason = out;
    }
    return item;
  });
}
