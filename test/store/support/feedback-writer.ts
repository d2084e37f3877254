/**
 * Child process for the durability test: opens the PGlite store in the folder given as argv[2],
 * records one feedback at a time and prints "<card uuid> <outcomeTimestamp>" only after
 * recordFeedback has resolved (i.e. after COMMIT), until it is killed.
 */
import { randomUUID } from 'node:crypto';
import { openStore } from '../../../src/store/store.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: feedback-writer.ts <dataDir>');
const store = await openStore({ dataDir });
process.stdout.write('ready\n');
for (;;) {
  const card = randomUUID();
  const outcomeTimestamp = new Date().toISOString();
  await store.recordFeedback('durability', [{ card, outcome: 'accepted', outcomeTimestamp }]);
  process.stdout.write(`${card} ${outcomeTimestamp}\n`);
}
