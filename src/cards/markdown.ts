/**
 * Text from FHIR data or from a request (displays, units, labels, ids) goes into card markdown
 * only through these functions. CDS clients render `detail` as GitHub-flavoured markdown, some with
 * raw HTML enabled (the official CDS Hooks Sandbox does), so escaping must defeat both markdown
 * syntax (links, images, emphasis, tables) and HTML.
 */

// '>' is not here: HTML escaping turns it into &gt;, which markdown never reads as a blockquote.
const MD_SPECIAL = /[\\`*_{}[\]()#+\-.!|~]/g;
/** Characters none of the replacements below touch (no markdown, HTML, scheme, control or line-break character). */
const INERT = /^[A-Za-z0-9 ,;/%=?@^$]*$/;
const HTML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for use inside markdown (a paragraph or a table cell): inert in markdown and HTML. */
export function escapeMarkdown(text: string): string {
  // Most card text (units, numbers, words) needs nothing: one test instead of six replacements.
  if (INERT.test(text)) return text;
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/\r?\n|\r/g, ' ')
    // Markdown first, then HTML: the entities made by the second step must not be escaped again.
    .replace(MD_SPECIAL, (c) => `\\${c}`)
    .replace(/[&<>"']/g, (c) => HTML_SPECIAL[c]!)
    // A "javascript:" or "data:" scheme cannot form an autolink once ':' follows an escaped word,
    // but GFM also autolinks bare "www." and "http://": break those so no link is made from data.
    .replace(/(https?|ftp|javascript|data|vbscript):/gi, '$1&#58;')
    .replace(/www\\\./gi, 'www&#46;');
}

/** Escapes text for HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_SPECIAL[c]!);
}

/** A markdown table from rows of already-escaped cells. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
