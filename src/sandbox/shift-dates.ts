/**
 * Moves every date in a FHIR resource by the same amount, so old synthetic records (Synthea data
 * end in 2018-2021) look recent to lookback windows while ages and intervals stay as they were.
 * Dates keep their precision: "1961-03" stays a year-month, "2019-05-02" a date.
 */

const DATE = /^(\d{4})(-(\d{2})(-(\d{2})(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function shiftOne(value: string, deltaMs: number): string {
  const m = DATE.exec(value);
  if (!m) return value;
  const [, y, , mo, , d, time] = m;
  if (time) {
    const t = new Date(value);
    if (Number.isNaN(t.getTime())) return value;
    return new Date(t.getTime() + deltaMs).toISOString().replace('.000Z', 'Z');
  }
  const base = new Date(Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1));
  const shifted = new Date(base.getTime() + deltaMs);
  const iso = shifted.toISOString();
  return d ? iso.slice(0, 10) : mo ? iso.slice(0, 7) : iso.slice(0, 4);
}

/** Returns a copy with every FHIR date/dateTime/instant value moved by `deltaMs`. */
export function shiftDates<T>(resource: T, deltaMs: number): T {
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === 'string') {
      // Only elements whose names say they hold dates: never ids, codes or values.
      return /(date|Date|DateTime|Instant|start|end|issued|authoredOn|recorded|onset|abatement|lastUpdated|birthDate|deceased|occurrence|effective|performed|period)/.test(key)
        ? shiftOne(v, deltaMs)
        : v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    return v;
  };
  return walk(resource, '') as T;
}
