/** ISO 8601 durations as the feature specs write them ("P5Y", "P18M", "P400D") and their wording. */

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;

export function parseDuration(d: string): { years: number; months: number; days: number } {
  const m = DURATION.exec(d);
  if (!m || d === 'P') throw new Error(`"${d}" is not a duration like P5Y, P18M or P400D.`);
  return { years: Number(m[1] ?? 0), months: Number(m[2] ?? 0), days: Number(m[3] ?? 0) * 7 + Number(m[4] ?? 0) };
}

/** The instant `d` before `now` (calendar arithmetic, UTC). */
export function subtractDuration(now: Date, d: string): Date {
  const { years, months, days } = parseDuration(d);
  const t = new Date(now.getTime());
  t.setUTCFullYear(t.getUTCFullYear() - years, t.getUTCMonth() - months, t.getUTCDate() - days);
  return t;
}

export function describeDuration(d: string): string {
  const { years, months, days } = parseDuration(d);
  const parts: string[] = [];
  if (years) parts.push(`${years} year${years > 1 ? 's' : ''}`);
  if (months) parts.push(`${months} month${months > 1 ? 's' : ''}`);
  if (days) parts.push(`${days} day${days > 1 ? 's' : ''}`);
  return parts.join(' ');
}
