/** `riskcards report`: acceptance and override rates per service and model version, from the service's store. */
import { loadConfig } from '../config.ts';
import { openStore } from '../store/store.ts';

export async function runReport(opts: { json?: boolean }): Promise<number> {
  const config = loadConfig();
  const store = await openStore({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
  try {
    const rows = await store.feedbackSummary();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ services: rows }, null, 2)}\n`);
      return 0;
    }
    if (!rows.length) {
      process.stdout.write('No feedback recorded yet.\n');
      return 0;
    }
    for (const r of rows) {
      const total = r.accepted + r.overridden;
      const pct = (n: number) => (total ? `${((n / total) * 100).toFixed(1)} %` : '-');
      process.stdout.write(`${r.serviceId}${r.modelVersion ? ` (model ${r.modelVersion})` : ''}: ${total} answers, accepted ${r.accepted} (${pct(r.accepted)}), overridden ${r.overridden} (${pct(r.overridden)})\n`);
      for (const [reason, n] of Object.entries(r.overrideReasons).sort((a, b) => b[1] - a[1])) process.stdout.write(`    override reason ${reason}: ${n}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
