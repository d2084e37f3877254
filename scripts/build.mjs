/**
 * `npm run build` (run by `npm start` first): the service as plain JavaScript in dist/, so that
 * starting it does not pay for TypeScript transpilation (tsx adds ~0.6 s to start-up here; see
 * bench/results.md). esbuild bundles the service's own modules into two files, the entry and the
 * store's worker thread, which must sit side by side (src/store/store-thread.ts looks for
 * `store-worker.js` beside the running file). npm packages stay external, loaded from
 * node_modules as usual. Type checking is `npm run typecheck`'s job, not this one's.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// --outdir: another folder inside the repository (the tests build one of their own; npm packages
// are found by walking up to node_modules, so it must stay inside the checkout).
const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });
const root = new URL('../', import.meta.url);
const outdir = resolve(root.pathname, values.outdir);
rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: root.pathname,
  entryPoints: { main: 'src/start.ts', 'store-worker': 'src/store/store-worker.ts' },
  // start.ts imports main.ts dynamically: split, so that its packages load after the store's thread has started.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  outdir,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
process.stderr.write(`build: ${values.outdir}/main.js and ${values.outdir}/store-worker.js in ${Math.round(performance.now() - started)} ms\n`);
