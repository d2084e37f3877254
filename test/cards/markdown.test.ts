import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import { escapeHtml, escapeMarkdown } from '../../src/cards/markdown.ts';

test('HTML from FHIR data is inert in markdown rendered with raw HTML enabled', () => {
  const out = escapeMarkdown('<img src=x onerror=alert(1)>');
  assert.ok(!out.includes('<'));
  assert.ok(!out.includes('>'));
});

test('a markdown link with a javascript: URL cannot form a link', () => {
  const out = escapeMarkdown('[click](javascript:alert(1))');
  assert.ok(!/\[[^\]]*\]\(/.test(out), out);
  assert.ok(!/javascript:/i.test(out), out);
});

test('table cells cannot be broken by a pipe or a newline', () => {
  const out = escapeMarkdown('a | b\n| c');
  assert.ok(!out.includes('\n'));
  assert.ok(!/(^|[^\\])\|/.test(out), out);
});

test('escapeHtml escapes the five HTML specials', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('text of letters, digits and inert punctuation is kept as is and renders as itself (the fast path)', () => {
  const md = new MarkdownIt({ html: true, linkify: true });
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9 ,;/%=?@^$]{0,40}$/), (text) => {
      assert.equal(escapeMarkdown(text), text);
      assert.equal(md.renderInline(text), text);
    }),
    { numRuns: 1000 },
  );
});
