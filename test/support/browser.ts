/**
 * Debian's Chromium driven by playwright-core, headless, with the flags this machine needs (no
 * sandbox as root, no GPU, no background networking or component updates, a fresh profile).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A fresh, empty profile each time (launchPersistentContext takes the user-data-dir). */
export async function launchBrowser(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'rc-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export function artifactPath(name: string): string {
  return new URL(`../../test-artifacts/${name}`, import.meta.url).pathname;
}
