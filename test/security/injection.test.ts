/**
 * Text from FHIR data is inert wherever it is shown: an Observation whose code display and unit
 * carry HTML and a javascript: markdown link, rendered in a real browser as EHRs render card
 * detail (markdown-it with raw HTML enabled, like the official CDS Hooks Sandbox), and in the
 * explanation and model card pages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { BrowserContext } from 'playwright-core';
import type { Observation, Resource } from 'fhir/r4.js';
import { buildTestApp, type TestApp } from '../support/test-app.ts';
import { launchBrowser } from '../support/browser.ts';
import { lastRecordDate, loadBundle, patientOf, resourcesOf } from '../support/fixtures.ts';
import { hookRequest } from '../support/ehr.ts';

const ID = '0283b437-ef20-41bb-a026-b60a742d536a';
const PAYLOADS = ['<img src=x onerror=alert(1)>', '[click](javascript:alert(1))', '</td><script>alert(1)</script>'];
let t: TestApp;
let browser: BrowserContext;
let server: Server;
let base: string;

before(async () => {
  t = await buildTestApp({ now: lastRecordDate(loadBundle(ID)) });
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.close();
  await t?.close();
});

/** The fixture patient with hostile text in code displays, units and a Condition text. */
function hostilePrefetch(): Record<string, unknown> {
  const rs = resourcesOf(loadBundle(ID)).map((r): Resource => {
    if (r.resourceType !== 'Observation') return r;
    const o = structuredClone(r) as Observation;
    o.code.coding = o.code.coding?.map((c, i) => ({ ...c, display: PAYLOADS[i % PAYLOADS.length] }));
    o.code.text = PAYLOADS[1];
    if (o.valueQuantity) o.valueQuantity = { ...o.valueQuantity, unit: PAYLOADS[0] };
    return o;
  });
  const searchset = (type: string) => ({ resourceType: 'Bundle', type: 'searchset', entry: rs.filter((r) => r.resourceType === type).map((resource) => ({ resource })) });
  return { patient: patientOf(loadBundle(ID)), observations: searchset('Observation'), conditions: searchset('Condition'), medications: searchset('MedicationRequest'), procedures: searchset('Procedure') };
}

test('hostile text in FHIR data renders inert in the card, the explanation page and the model card, in a real browser', async () => {
  const res = await fetch(`${base}/cds-services/riskcards-ascvd-pce`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hookRequest(ID, { prefetch: hostilePrefetch() })) });
  assert.equal(res.status, 200);
  const cards = (await res.json()).cards as { detail: string; summary: string; links: { url: string }[] }[];
  assert.ok(cards.length >= 1);
  const markdownIt = readFileSync(new URL('../../node_modules/markdown-it/dist/markdown-it.min.js', import.meta.url), 'utf8');
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.setContent('<!doctype html><html><body><div id="card"></div></body></html>');
  await page.addScriptTag({ content: markdownIt });
  // The escaper itself, on the raw payloads, in the browser: what any data text would go through.
  const { escapeMarkdown } = await import('../../src/cards/markdown.ts');
  const escaped = PAYLOADS.map((p) => `| ${escapeMarkdown(p)} | x |`).join('\n');
  for (const card of [...cards, { summary: escapeMarkdown(PAYLOADS.join(' ')), detail: `| a | b |\n| --- | --- |\n${escaped}` }]) {
    assert.ok(!PAYLOADS.some((p) => card.detail.includes(p) || card.summary.includes(p)), 'no payload reaches a card raw');
    await page.evaluate((md) => {
      // Rendered as many EHRs do: raw HTML allowed.
      document.getElementById('card')!.innerHTML = (window as any).markdownit({ html: true, linkify: true }).render(md);
    }, `${card.summary}\n\n${card.detail}`);
    await page.waitForTimeout(50);
    assert.equal(await page.locator('#card img').count(), 0, 'no <img> from data');
    assert.equal(await page.locator('#card script').count(), 0, 'no <script> from data');
    assert.equal(await page.locator('#card a[href^="javascript:"]').count(), 0, 'no javascript: link');
  }
  for (const url of [...cards.flatMap((c) => c.links.map((l) => new URL(l.url).pathname)), '/models/pce-ascvd/card']) {
    await page.goto(`${base}${url}`);
    await page.waitForTimeout(50);
    assert.equal(await page.locator('img, script').count(), 0, `${url}: no element from data`);
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, url);
  }
  assert.deepEqual(dialogs, [], 'no script ran');
});
