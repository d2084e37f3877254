/**
 * Tried as a new user would: start the sandbox, open the EHR simulator page in a real browser,
 * fire patient-view for a Synthea patient, see the explained card, accept it, and find the
 * feedback in the store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox.ts';
import { artifactPath, launchBrowser } from '../support/browser.ts';

const PATIENT = '0283b437-ef20-41bb-a026-b60a742d536a'; // female, 59, full lipids and BP
let sandbox: RunningSandbox;
let browser: BrowserContext;

before(async () => {
  const base = 20000 + Math.floor(Math.random() * 20000);
  sandbox = await startSandbox({
    servicePort: base,
    ehrPort: base + 1,
    fhirPort: base + 2,
    serviceEnv: { RISKCARDS_DATA_DIR: mkdtempSync(join(tmpdir(), 'rc-sandbox-')), RISKCARDS_LOG_LEVEL: 'warn' },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

test('a clinician fires patient-view in the sandbox EHR, sees the explained card and accepts it', async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1400, height: 1000 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(sandbox.ehrUrl);
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#patient', PATIENT);
  await page.click('#fire');
  const card = page.locator('section.card').first();
  await card.waitFor();
  const summary = await card.locator('.summary').textContent();
  assert.match(summary ?? '', /ASCVD risk \d+(\.\d+)? %/);
  // The detail markdown became a table of factors; the explanation chart is drawn.
  assert.ok((await card.locator('.detail table tr').count()) >= 4);
  assert.ok((await card.locator('svg.chart rect').count()) >= 1);
  assert.match((await page.locator('#request').textContent()) ?? '', /"prefetch"/);

  mkdirSync(artifactPath(''), { recursive: true });
  await page.screenshot({ path: artifactPath('sandbox-ehr-card.png'), fullPage: true });

  const uuid = await card.getAttribute('data-card-uuid');
  await card.locator('button.accept').click();
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Feedback stored'));
  const summaryRows = await sandbox.service.store.feedbackSummary();
  const row = summaryRows.find((r) => r.serviceId === 'riskcards-ascvd-pce');
  assert.ok(row && row.accepted >= 1, `feedback for card ${uuid} is in the store`);
  assert.deepEqual(errors, []);
});
