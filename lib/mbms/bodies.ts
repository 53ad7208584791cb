// MSK request and response bodies (protocol §2.3, §2.4; element names and ID encoding from O3,
// status codes from O4). Built with fast-xml-parser's XMLBuilder and read with its XMLParser:
// never by string concatenation, so escaping and well-formedness are the library's job.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { MbmsBodyError } from './errors.ts';
import { KEY_DOMAIN_ID_LENGTH, MSK_ID_LENGTH, mskIdFromBytes, mskIdToBytes } from './keyids.ts';
import type { MbmsProfile, XmlProfile } from './profile.ts';

/** One requested key: Key Domain ID (3 octets) and MSK ID (protocol §2.3). */
export interface MskRequestEntry {
  keyDomainId: Buffer;
  mskId: number;
}

/** One per-MSK result: MSK ID and its status code (O4) (protocol §2.4). */
export interface MskResponseEntry {
  mskId: number;
  status: number;
}

// preserveOrder keeps the document order, which carries meaning in the flat layout (a keyDomainID
// applies to the mskIDs that follow it).
type OrderedNode = Record<string, unknown>;

const builder = new XMLBuilder({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', format: false, suppressEmptyNode: false });
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

function encodeId(bytes: Buffer, xml: XmlProfile): string {
  return xml.idEncoding === 'hex' ? bytes.toString('hex') : bytes.toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function decodeId(text: string, xml: XmlProfile, element: string, length: number): Buffer {
  const pattern = xml.idEncoding === 'hex' ? HEX : BASE64;
  if (!pattern.test(text)) throw new MbmsBodyError(`<${element}> is not ${xml.idEncoding}: '${text}'`);
  const bytes = Buffer.from(text, xml.idEncoding === 'hex' ? 'hex' : 'base64');
  if (bytes.length !== length) throw new MbmsBodyError(`<${element}> must decode to ${length} octets, got ${bytes.length}`);
  return bytes;
}

function textElement(name: string, text: string): OrderedNode {
  return { [name]: [{ '#text': text }] };
}

function document(rootName: string, namespace: string, children: OrderedNode[], xml: XmlProfile): string {
  const root: OrderedNode = { [rootName]: children };
  if (namespace !== '') root[':@'] = { '@_xmlns': namespace };
  const nodes: OrderedNode[] = [];
  if (xml.xmlDeclaration) {
    nodes.push({ '?xml': [{ '#text': '' }], ':@': { '@_version': '1.0', '@_encoding': 'UTF-8' } }, { '#text': '\n' });
  }
  nodes.push(root);
  if (xml.finalNewline) nodes.push({ '#text': '\n' });
  return builder.build(nodes) as string;
}

/**
 * The MSK request body (protocol §2.3). Flat layout (entryElement null): a Key Domain ID element
 * whenever the domain changes, then the MSK ID elements of that domain. With the default profile one
 * entry {00F110, 0x00010001} gives the 119 octets of protocol §8.2.
 */
export function buildMskRequestBody(keys: readonly MskRequestEntry[], profile: Pick<MbmsProfile, 'xml'>): string {
  const xml = profile.xml;
  const children: OrderedNode[] = [];
  let lastDomain: string | undefined;
  for (const key of keys) {
    if (key.keyDomainId.length !== KEY_DOMAIN_ID_LENGTH) throw new MbmsBodyError(`Key Domain ID must be ${KEY_DOMAIN_ID_LENGTH} octets`);
    const domain = textElement(xml.keyDomainIdElement, encodeId(key.keyDomainId, xml));
    const msk = textElement(xml.mskIdElement, encodeId(mskIdToBytes(key.mskId), xml));
    if (xml.entryElement !== null) {
      children.push({ [xml.entryElement]: [domain, msk] });
      continue;
    }
    const domainHex = key.keyDomainId.toString('hex');
    if (domainHex !== lastDomain) children.push(domain);
    lastDomain = domainHex;
    children.push(msk);
  }
  return document(xml.requestRoot, xml.requestNamespace, children, xml);
}

/** The MSK response body (protocol §2.4): per entry the MSK ID and its status (O4). §8.2: 110 octets. */
export function buildMskResponseBody(entries: readonly MskResponseEntry[], profile: Pick<MbmsProfile, 'xml'>): string {
  const xml = profile.xml;
  const children: OrderedNode[] = [];
  for (const entry of entries) {
    if (!Number.isInteger(entry.status) || entry.status < 0) throw new MbmsBodyError(`status must be a non-negative integer, got ${entry.status}`);
    const pair = [textElement(xml.mskIdElement, encodeId(mskIdToBytes(entry.mskId), xml)), textElement(xml.statusElement, String(entry.status))];
    if (xml.entryElement !== null) children.push({ [xml.entryElement]: pair });
    else children.push(...pair);
  }
  return document(xml.responseRoot, xml.responseNamespace, children, xml);
}

interface ParsedElement {
  name: string;
  children: OrderedNode[];
  attributes: Record<string, string>;
}

function elementsOf(nodes: OrderedNode[], context: string): ParsedElement[] {
  const out: ParsedElement[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined) continue;
    if (name === '#text') throw new MbmsBodyError(`unexpected text in ${context}: '${String(node['#text'])}'`);
    out.push({ name, children: node[name] as OrderedNode[], attributes: (node[':@'] ?? {}) as Record<string, string> });
  }
  return out;
}

function textOf(element: ParsedElement): string {
  const parts = element.children.map((child) => {
    if (!('#text' in child)) throw new MbmsBodyError(`<${element.name}> must contain text only`);
    return String(child['#text']);
  });
  return parts.join('').trim();
}

function parseRoot(body: string | Uint8Array, rootName: string, namespace: string): ParsedElement[] {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new MbmsBodyError(`not well-formed XML (line ${valid.err.line}, col ${valid.err.col}): ${valid.err.msg}`);
  const roots = elementsOf(parser.parse(text) as OrderedNode[], 'the document');
  if (roots.length !== 1) throw new MbmsBodyError(`expected one root element, found ${roots.length}`);
  const root = roots[0]!;
  if (root.name !== rootName) throw new MbmsBodyError(`root element must be <${rootName}>, got <${root.name}>`);
  const xmlns = root.attributes['@_xmlns'] ?? '';
  if (xmlns !== namespace) throw new MbmsBodyError(`root namespace must be '${namespace}', got '${xmlns}'`);
  return elementsOf(root.children, `<${rootName}>`);
}

/** Reads an MSK request body (protocol §2.3); throws MbmsBodyError on malformed XML, missing fields or bad IDs. */
export function parseMskRequestBody(body: string | Uint8Array, profile: Pick<MbmsProfile, 'xml'>): MskRequestEntry[] {
  const xml = profile.xml;
  const entries: MskRequestEntry[] = [];
  const readPair = (elements: ParsedElement[], current: Buffer | undefined, where: string): Buffer | undefined => {
    let domain = current;
    for (const element of elements) {
      if (element.name === xml.keyDomainIdElement) {
        domain = decodeId(textOf(element), xml, element.name, KEY_DOMAIN_ID_LENGTH);
      } else if (element.name === xml.mskIdElement) {
        if (domain === undefined) throw new MbmsBodyError(`<${xml.mskIdElement}> without a preceding <${xml.keyDomainIdElement}> in ${where}`);
        entries.push({ keyDomainId: domain, mskId: mskIdFromBytes(decodeId(textOf(element), xml, element.name, MSK_ID_LENGTH)) });
      } else {
        throw new MbmsBodyError(`unexpected element <${element.name}> in ${where}`);
      }
    }
    return domain;
  };
  const top = parseRoot(body, xml.requestRoot, xml.requestNamespace);
  if (xml.entryElement === null) {
    readPair(top, undefined, `<${xml.requestRoot}>`);
  } else {
    for (const entry of top) {
      if (entry.name !== xml.entryElement) throw new MbmsBodyError(`unexpected element <${entry.name}> in <${xml.requestRoot}>`);
      const before = entries.length;
      const inner = elementsOf(entry.children, `<${entry.name}>`);
      if (!inner.some((e) => e.name === xml.keyDomainIdElement)) throw new MbmsBodyError(`<${entry.name}> lacks <${xml.keyDomainIdElement}>`);
      readPair(inner, undefined, `<${entry.name}>`);
      if (entries.length === before) throw new MbmsBodyError(`<${entry.name}> lacks <${xml.mskIdElement}>`);
    }
  }
  if (entries.length === 0) throw new MbmsBodyError(`<${xml.requestRoot}> requests no MSK`);
  return entries;
}

/** Reads an MSK response body (protocol §2.4); statuses are returned as numbers for the O4 table. */
export function parseMskResponseBody(body: string | Uint8Array, profile: Pick<MbmsProfile, 'xml'>): MskResponseEntry[] {
  const xml = profile.xml;
  const entries: MskResponseEntry[] = [];
  const readEntries = (elements: ParsedElement[], where: string, exactlyOne: boolean): void => {
    let pending: number | undefined;
    let count = 0;
    for (const element of elements) {
      if (element.name === xml.mskIdElement) {
        if (pending !== undefined) throw new MbmsBodyError(`<${xml.mskIdElement}> without <${xml.statusElement}> in ${where}`);
        pending = mskIdFromBytes(decodeId(textOf(element), xml, element.name, MSK_ID_LENGTH));
      } else if (element.name === xml.statusElement) {
        if (pending === undefined) throw new MbmsBodyError(`<${xml.statusElement}> without a preceding <${xml.mskIdElement}> in ${where}`);
        const text = textOf(element);
        if (!/^[0-9]{1,3}$/.test(text)) throw new MbmsBodyError(`<${xml.statusElement}> must be a number, got '${text}'`);
        entries.push({ mskId: pending, status: Number(text) });
        pending = undefined;
        count += 1;
      } else {
        throw new MbmsBodyError(`unexpected element <${element.name}> in ${where}`);
      }
    }
    if (pending !== undefined) throw new MbmsBodyError(`<${xml.mskIdElement}> without <${xml.statusElement}> in ${where}`);
    if (exactlyOne && count !== 1) throw new MbmsBodyError(`${where} must hold one <${xml.mskIdElement}> and one <${xml.statusElement}>`);
  };
  const top = parseRoot(body, xml.responseRoot, xml.responseNamespace);
  if (xml.entryElement === null) {
    readEntries(top, `<${xml.responseRoot}>`, false);
  } else {
    for (const entry of top) {
      if (entry.name !== xml.entryElement) throw new MbmsBodyError(`unexpected element <${entry.name}> in <${xml.responseRoot}>`);
      readEntries(elementsOf(entry.children, `<${entry.name}>`), `<${entry.name}>`, true);
    }
  }
  return entries;
}

/** The meaning of a status value in the O4 table ('success', 'unknownMsk', ...), or undefined. */
export function statusMeaning(status: number, profile: Pick<MbmsProfile, 'statusCodes'>): string | undefined {
  return Object.entries(profile.statusCodes).find(([, value]) => value === status)?.[0];
}
