// A tiny element builder for SVG and HTML: every text and attribute value is escaped
// here, once, so that protocol data from a SUT (HTTP targets, header values, reason
// phrases) can never inject markup into a report that a lab hands to a customer.
import { MarkupNameError } from './errors.ts';

export type Child = MarkupNode | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

export interface MarkupNode {
  readonly name: string;
  readonly attrs: Attrs;
  readonly children: readonly Child[];
  /** Trusted, already serialized markup (only from `raw()`, never from protocol data). */
  readonly raw?: string;
}

// XML 1.0 Name production, restricted to ASCII (all SVG/HTML names we emit are ASCII).
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/** Builds an element; `children` may nest arrays of children for convenience. */
export function el(name: string, attrs: Attrs = {}, children: Child | readonly Child[] | readonly (Child | readonly Child[])[] = []): MarkupNode {
  if (!NAME.test(name)) throw new MarkupNameError(name);
  for (const key of Object.keys(attrs)) if (!NAME.test(key)) throw new MarkupNameError(key);
  const flat: Child[] = [];
  const push = (c: unknown): void => {
    if (Array.isArray(c)) c.forEach(push);
    else flat.push(c as Child);
  };
  push(children);
  return { name, attrs, children: flat };
}

/** Markup that is already serialized and trusted (e.g. an SVG produced by `render`). */
export function raw(markup: string): MarkupNode {
  return { name: '#raw', attrs: {}, children: [], raw: markup };
}

// Characters not allowed in XML 1.0 (C0 controls except TAB, LF, CR; U+FFFE/U+FFFF; lone surrogates)
// are replaced so that the SVG still parses when a SUT sends binary junk in a header.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeText(text: string): string {
  return text.replace(INVALID_XML_CHARS, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

const HTML_VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/**
 * Serializes a node. `mode: 'xml'` writes empty elements as `<x/>` (SVG, XHTML);
 * `mode: 'html'` writes void elements without an end tag and every other element with one.
 */
export function render(node: Child, mode: 'xml' | 'html' = 'xml'): string {
  if (node === null || node === undefined || node === false) return '';
  if (typeof node === 'string') return escapeText(node);
  if (typeof node === 'number') return escapeText(String(node));
  if (node.raw !== undefined) return node.raw;
  let attrs = '';
  for (const [key, value] of Object.entries(node.attrs)) {
    if (value === null || value === undefined || value === false) continue;
    attrs += value === true ? ` ${key}="${key}"` : ` ${key}="${escapeAttr(String(value))}"`;
  }
  const inner = node.children.map((c) => render(c, mode)).join('');
  if (mode === 'html' && HTML_VOID.has(node.name)) return `<${node.name}${attrs}>`;
  if (mode === 'xml' && inner === '') return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${inner}</${node.name}>`;
}
