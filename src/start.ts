/**
 * `npm start`'s entry (built to dist/main.js): starts opening the embedded store first, then
 * loads and starts the service (src/main.ts). See store/early-store.ts.
 */
import { openStoreEarly } from './store/early-store.ts';

const early = openStoreEarly(process.env);
const { runMain } = await import('./main.ts');
runMain(process.env, early);
