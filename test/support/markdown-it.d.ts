/** The little of markdown-it the tests use (the package ships no types). */
declare module 'markdown-it' {
  export default class MarkdownIt {
    constructor(options?: { html?: boolean; linkify?: boolean });
    render(markdown: string): string;
    renderInline(markdown: string): string;
  }
}
