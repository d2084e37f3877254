/** Patient ids leave the request only as a keyed hash (HMAC-SHA256), so audit rows can be joined without naming anyone. */
import { createHmac } from 'node:crypto';

export function patientHash(key: string, patientId: string): string {
  return createHmac('sha256', key).update(patientId).digest('hex');
}
