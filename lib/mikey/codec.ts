// MIKEY message codec (RFC 3830 §6, RFC 4563): walks the payload chain through the payload registry.
// Strict by default: anything the reference (§4, §6.3) says a receiver must discard throws MikeyDecodeError.
import { createHmac } from 'node:crypto';
import { MikeyDecodeError, MikeyEncodeError } from './errors.ts';
import {
  ByteReader, ByteWriter, decodeStruct, describeStruct, encodeStruct, encodeStructInto, structToJSON,
  type EncodeContext, type Rec, type StructDef,
} from './fields.ts';
import {
  ExtType, KeyIdType, PayloadCode, hdrDef, keyDataDef, macLength, payloadNames, payloadRegistry,
  payloadSpecByType, type KeyData, type MikeyMessage, type Payload, type PayloadTypeName,
} from './payloads.ts';

export interface EncodeOptions {
  /** Authentication key for the KEMAC MAC (RFC 3830 §5.2); used only when kemac.mac is undefined. */
  authKey?: Buffer;
}

/**
 * Encodes a message tree. Lengths, next-payload chaining, #CS and the KEMAC MAC are computed unless the
 * tree sets them; the KEMAC MAC is HMAC-SHA-1-160(authKey, octets from HDR octet 0 through the MAC alg
 * octet) (protocol §5.6).
 */
export function encodeMikey(msg: MikeyMessage, opts: EncodeOptions = {}): Buffer {
  const w = new ByteWriter();
  const codes = msg.payloads.map((p) => {
    const spec = payloadSpecByType[p.type];
    if (!spec) throw new MikeyEncodeError('message', 'payloads', `unknown payload type ${String((p as Payload).type)}`);
    return spec.code;
  });
  const mac: EncodeContext['mac'] = (struct, o, soFar) => {
    const len = macLength((o.macAlg as number | undefined) ?? 1);
    if (len === 0) return Buffer.alloc(0);
    if (len === undefined) throw new MikeyEncodeError(struct.name, 'mac', `unknown MAC alg ${String(o.macAlg)}`);
    if (!opts.authKey) throw new MikeyEncodeError(struct.name, 'mac', 'MAC left to compute but no authKey given');
    return createHmac('sha1', opts.authKey).update(soFar).digest();
  };
  encodeStructInto(hdrDef, msg.hdr as unknown as Rec, { next: codes[0] ?? PayloadCode.LAST }, w);
  msg.payloads.forEach((p, i) => {
    encodeStructInto(payloadSpecByType[p.type], p as unknown as Rec, { next: codes[i + 1] ?? PayloadCode.LAST, mac }, w);
  });
  const out = w.toBuffer();
  if (out.length > MAX_MIKEY_MESSAGE_OCTETS) {
    throw new MikeyEncodeError('message', 'length', `${out.length} octets: larger than a UDP datagram can carry (at most ${MAX_MIKEY_MESSAGE_OCTETS})`);
  }
  return out;
}

export interface LenientResult {
  /** Everything decoded up to the error (the payload being decoded when it failed is left out). */
  message: MikeyMessage;
  error?: MikeyDecodeError;
}

/**
 * The largest MIKEY message any transport of TS 33.246 carries: one UDP datagram (RFC 3830 §1.3 runs MIKEY
 * over UDP for MBMS), whose 16-bit length field counts its 8-octet header too (RFC 768), so 65,535 − 8.
 * Every codec entry point refuses more before reading a payload, which bounds decode time and memory
 * whatever the input claims.
 */
export const MAX_MIKEY_MESSAGE_OCTETS = 65_535 - 8;

function checkSize(length: number, what: string): void {
  if (length > MAX_MIKEY_MESSAGE_OCTETS) {
    throw new MikeyDecodeError(MAX_MIKEY_MESSAGE_OCTETS, 'message',
      `${what} of ${length} octets is larger than a UDP datagram can carry (at most ${MAX_MIKEY_MESSAGE_OCTETS})`);
  }
}

function label(code: number): string {
  return payloadNames[code] ?? `payload ${code}`;
}

function decodeInto(bytes: Uint8Array, message: MikeyMessage): void {
  checkSize(bytes.byteLength, 'a MIKEY message');
  // One copy of the message: the decoded octet strings are views into it, never into the caller's buffer
  const buf = Buffer.from(bytes);
  const r = new ByteReader(buf, 0, buf.length);
  const hdr = message.hdr as unknown as Rec;
  hdr.offset = 0;
  decodeStruct(hdrDef, r, hdr);
  let code = hdr.next as number;
  // The payload whose next-payload field names `code` (named in errors only: no string per payload)
  let announcerType: string | undefined;
  let announcerAt = 0;
  const announcedBy = () => (announcerType !== undefined ? `${announcerType} at offset ${announcerAt}` : 'HDR');
  while (code !== PayloadCode.LAST) {
    const at = r.pos;
    if (r.remaining() === 0) {
      throw new MikeyDecodeError(at, 'chain',
        `chain does not end: ${announcedBy()} names ${label(code)} (code ${code}) as next payload but the message ends`);
    }
    const spec = payloadRegistry.get(code);
    if (!spec) {
      const why = payloadNames[code] !== undefined ? `unsupported payload type ${code} (${payloadNames[code]})` : `unknown payload type ${code}`;
      throw new MikeyDecodeError(at, label(code), `${why}, named by the next payload field of ${announcedBy()}`);
    }
    const p: Rec = { type: spec.type, offset: at };
    decodeStruct(spec, r, p);
    // Each payload consumes at least its next-payload octet, so the walk always advances and cannot loop.
    message.payloads.push(p as unknown as Payload);
    code = p.next as number;
    announcerType = spec.type;
    announcerAt = at;
  }
  if (r.remaining() > 0) {
    throw new MikeyDecodeError(r.pos, 'trailing', `${r.remaining()} trailing octet(s) after the last payload`);
  }
}

/** Strict decode: throws MikeyDecodeError naming the offset, the payload and the reason. */
export function decodeMikey(bytes: Uint8Array): MikeyMessage {
  const message = { hdr: {}, payloads: [] } as unknown as MikeyMessage;
  decodeInto(bytes, message);
  return message;
}

/** Decodes as far as possible; returns the partial message and the error that stopped the walk. */
export function decodeMikeyLenient(bytes: Uint8Array): LenientResult {
  const message = { hdr: {}, payloads: [] } as unknown as MikeyMessage;
  try {
    decodeInto(bytes, message);
    return { message };
  } catch (e) {
    if (e instanceof MikeyDecodeError) return { message, error: e };
    throw e;
  }
}

// ---- key data (KEMAC plaintext) -------------------------------------------------------------------------

/** Encodes Key data sub-payloads chained by their own next field (20 = more key data, 0 = last). */
export function encodeKeyData(list: readonly KeyData[]): Buffer {
  return Buffer.concat(list.map((kd, i) =>
    encodeStruct(keyDataDef, kd as unknown as Rec, { next: i < list.length - 1 ? PayloadCode.KEY_DATA : PayloadCode.LAST })));
}

/**
 * Decodes decrypted KEMAC data (protocol §7.3 G-C3): lengths must stay inside the plaintext, the chain must
 * end with next = 0 exactly at its end. Error offsets are `baseOffset` + position in the plaintext.
 */
export function decodeKeyData(plain: Uint8Array, baseOffset = 0): KeyData[] {
  checkSize(plain.byteLength, 'key data');
  const buf = Buffer.from(plain);
  const r = new ByteReader(buf, 0, buf.length);
  const list: KeyData[] = [];
  try {
    if (buf.length === 0) return list;
    for (;;) {
      const at = r.pos;
      const kd = decodeStruct(keyDataDef, r) as unknown as KeyData;
      list.push(kd);
      if (kd.next === PayloadCode.LAST) break;
      if (kd.next !== PayloadCode.KEY_DATA) {
        throw new MikeyDecodeError(at, 'KEY-DATA', `next payload ${String(kd.next)} inside KEMAC is neither 20 (Key data) nor 0`);
      }
      if (r.remaining() === 0) throw new MikeyDecodeError(r.pos, 'chain', 'key data chain does not end: next = 20 but the encrypted data ends');
    }
    if (r.remaining() > 0) throw new MikeyDecodeError(r.pos, 'trailing', `${r.remaining()} trailing octet(s) after the last key data`);
  } catch (e) {
    if (e instanceof MikeyDecodeError && baseOffset !== 0) throw new MikeyDecodeError(e.offset + baseOffset, e.payload, e.reason);
    throw e;
  }
  return list;
}

// ---- helpers on message trees ---------------------------------------------------------------------------

export function findPayload<T extends PayloadTypeName>(msg: MikeyMessage, type: T): Extract<Payload, { type: T }> | undefined {
  return msg.payloads.find((p) => p.type === type) as Extract<Payload, { type: T }> | undefined;
}

export function findPayloads<T extends PayloadTypeName>(msg: MikeyMessage, type: T): Extract<Payload, { type: T }>[] {
  return msg.payloads.filter((p) => p.type === type) as Extract<Payload, { type: T }>[];
}

export interface KeyIds { keyDomainId?: Buffer; mskId?: Buffer; mtkId?: Buffer }

/** Key IDs of the first Key ID extension (RFC 4563 §4), by type. */
export function getKeyIds(msg: MikeyMessage): KeyIds {
  const ext = msg.payloads.find((p) => p.type === 'EXT' && p.extType === ExtType.KEY_ID);
  const ids: KeyIds = {};
  if (ext?.type !== 'EXT') return ids;
  for (const k of ext.keyIds ?? []) {
    if (k.idType === KeyIdType.KEY_DOMAIN_ID) ids.keyDomainId ??= k.value;
    else if (k.idType === KeyIdType.MSK_ID) ids.mskId ??= k.value;
    else if (k.idType === KeyIdType.MTK_ID) ids.mtkId ??= k.value;
  }
  return ids;
}

function clearStruct(def: StructDef, o: Rec): Rec {
  const out: Rec = { ...o };
  delete out.offset;
  for (const f of def.fields) {
    if (f.computed) delete out[f.name];
    if (f.kind.t === 'list' && Array.isArray(out[f.name])) {
      const item = f.kind.item;
      out[f.name] = (out[f.name] as Rec[]).map((x) => clearStruct(item, x));
    }
  }
  return out;
}

/**
 * Copy of a (decoded) message with every computed field (next, lengths, #CS, KEMAC MAC) and the offsets
 * removed, so that encodeMikey recomputes them after the tree was edited.
 */
export function clearComputed(msg: MikeyMessage): MikeyMessage {
  return {
    hdr: clearStruct(hdrDef, msg.hdr as unknown as Rec) as unknown as MikeyMessage['hdr'],
    payloads: msg.payloads.map((p) => clearStruct(payloadSpecByType[p.type], p as unknown as Rec) as unknown as Payload),
  };
}

// ---- display ---------------------------------------------------------------------------------------------

function heading(def: StructDef, offset: unknown): string {
  return typeof offset === 'number' ? `${def.title} @ ${offset}` : def.title;
}

/** Readable tree of a message, generated from the payload table. */
export function describeMikey(msg: MikeyMessage): string {
  const lines = [heading(hdrDef, msg.hdr.offset), ...describeStruct(hdrDef, msg.hdr as unknown as Rec, '  ')];
  for (const p of msg.payloads) {
    const spec = payloadSpecByType[p.type];
    lines.push(heading(spec, p.offset), ...describeStruct(spec, p as unknown as Rec, '  '));
  }
  return lines.join('\n');
}

/** Readable tree of decrypted key data sub-payloads. */
export function describeKeyData(list: readonly KeyData[], indent = ''): string {
  const lines: string[] = [];
  list.forEach((kd, i) => {
    lines.push(`${indent}[${i}] ${keyDataDef.title}`, ...describeStruct(keyDataDef, kd as unknown as Rec, `${indent}    `));
  });
  return lines.join('\n');
}

/** JSON tree of a message (Buffers as hex), generated from the payload table. */
export function mikeyToJSON(msg: MikeyMessage): { hdr: Rec; payloads: Rec[] } {
  const at = (offset: unknown): Rec => (typeof offset === 'number' ? { offset } : {});
  return {
    hdr: { ...at(msg.hdr.offset), ...structToJSON(hdrDef, msg.hdr as unknown as Rec) },
    payloads: msg.payloads.map((p) =>
      ({ type: p.type, ...at(p.offset), ...structToJSON(payloadSpecByType[p.type], p as unknown as Rec) })),
  };
}

export function keyDataToJSON(list: readonly KeyData[]): Rec[] {
  return list.map((kd) => structToJSON(keyDataDef, kd as unknown as Rec));
}
