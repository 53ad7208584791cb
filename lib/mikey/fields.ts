// Field engine behind the MIKEY payload table (payloads.ts): a payload or sub-payload is a list of typed
// fields with defaults; the same list drives encoding, decoding, field names and display. Computed fields
// (lengths, counts, next payload, MAC) are filled in only when the caller left them undefined, so a test
// can build a deliberately wrong message by setting them.
import { MikeyDecodeError, MikeyEncodeError } from './errors.ts';

export type Rec = Record<string, unknown>;

/** Display hints for a field value. */
export type Display = 'dec' | 'hex' | 'bytes' | 'text-or-hex';

/** One named part of a byte split into bit fields (most significant part first). */
export interface BitPart {
  name: string;
  label: string;
  bits: number;
  bool?: boolean;
  default?: number | boolean;
  names?: Readonly<Record<number, string>>;
}

export type FieldKind =
  | { t: 'uint'; bytes: 1 | 2 | 4 }
  | { t: 'bits'; parts: readonly BitPart[] }
  /** Unsigned integer of a size that depends on earlier fields, held as bigint; size undefined = unknown. */
  | { t: 'biguint'; size: (o: Rec) => number | undefined; unknown: (o: Rec) => string }
  /** Octet string whose length is given by an earlier field (lengthField) or a function of earlier fields. */
  | { t: 'bytes'; lengthField?: string; size?: (o: Rec) => number | undefined; unknown?: (o: Rec) => string }
  /** Sequence of sub-structures, either `countField` items or items filling `lengthField` octets exactly. */
  | { t: 'list'; item: StructDef; countField?: string; lengthField?: string };

/** How a computed field gets its value when the caller leaves it undefined. */
export type Computed =
  | { c: 'next' }
  | { c: 'lengthOf'; fields: readonly string[] }
  | { c: 'countOf'; field: string }
  | { c: 'mac' };

export interface FieldDef {
  name: string;
  label: string;
  kind: FieldKind;
  /** Field present only when this returns true (evaluated on the fields before it). */
  when?: (o: Rec) => boolean;
  computed?: Computed;
  default?: unknown;
  names?: Readonly<Record<number, string>>;
  display?: Display;
  /** Strict decode check of the decoded value; returns a reason when the value makes the message invalid. */
  check?: (value: unknown, o: Rec) => string | undefined;
}

export interface StructDef {
  /** Name used in errors and displays ('HDR', 'KEY-ID', ...). */
  name: string;
  title: string;
  fields: readonly FieldDef[];
}

/** Context of one encode: the chain value for `next` and a MAC hook for `mac` fields. */
export interface EncodeContext {
  next?: number;
  /** Called with everything written so far in the message; returns the MAC octets. */
  mac?: (struct: StructDef, o: Rec, soFar: Buffer) => Buffer;
}

export class ByteWriter {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Octets already written before this writer's first octet (to compute MACs over the whole message). */
  constructor(private readonly prefix: Buffer = Buffer.alloc(0)) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
  }
  get length(): number {
    return this.size;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
  /** Prefix plus everything written so far. */
  soFar(): Buffer {
    return Buffer.concat([this.prefix, ...this.chunks]);
  }
}

/** A bounded cursor over the message; `base` maps positions back to message offsets. */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}
  remaining(): number {
    return this.end - this.pos;
  }
}

function toBuffer(v: unknown, struct: string, field: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  throw new MikeyEncodeError(struct, field, `expected a Buffer, got ${typeof v}`);
}

function writeUint(w: ByteWriter, value: unknown, bytes: number, struct: string, field: string): void {
  const n = typeof value === 'boolean' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= 2 ** (8 * bytes)) {
    throw new MikeyEncodeError(struct, field, `value ${String(value)} does not fit ${bytes} octet(s)`);
  }
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(n, 0, bytes);
  w.push(b);
}

/** Value of a field for encoding: explicit value, else computed, else default. */
function valueFor(def: StructDef, f: FieldDef, o: Rec, ctx: EncodeContext, w: ByteWriter): unknown {
  const explicit = o[f.name];
  if (explicit !== undefined) return explicit;
  if (f.computed) {
    switch (f.computed.c) {
      case 'next':
        return ctx.next ?? 0;
      case 'countOf': {
        const list = o[f.computed.field];
        return Array.isArray(list) ? list.length : 0;
      }
      case 'lengthOf': {
        let total = 0;
        for (const name of f.computed.fields) {
          const target = def.fields.find((x) => x.name === name);
          if (!target || (target.when && !target.when(o))) continue;
          const tmp = new ByteWriter();
          writeField(def, target, o, ctx, tmp);
          total += tmp.length;
        }
        return total;
      }
      case 'mac': {
        if (!ctx.mac) throw new MikeyEncodeError(def.name, f.name, 'MAC left to compute but no key given');
        return ctx.mac(def, o, w.soFar());
      }
    }
  }
  if (f.default !== undefined) return f.default;
  if (f.kind.t === 'list') return [];
  throw new MikeyEncodeError(def.name, f.name, 'missing value');
}

function writeField(def: StructDef, f: FieldDef, o: Rec, ctx: EncodeContext, w: ByteWriter): void {
  const k = f.kind;
  if (k.t === 'bits') {
    let byte = 0;
    let used = 0;
    for (const p of k.parts) {
      const raw = o[p.name] ?? p.default ?? 0;
      const n = typeof raw === 'boolean' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= 2 ** p.bits) {
        throw new MikeyEncodeError(def.name, p.name, `value ${String(raw)} does not fit ${p.bits} bit(s)`);
      }
      used += p.bits;
      byte |= n << (8 - used);
    }
    w.push(Buffer.from([byte]));
    return;
  }
  const value = valueFor(def, f, o, ctx, w);
  switch (k.t) {
    case 'uint':
      writeUint(w, value, k.bytes, def.name, f.name);
      return;
    case 'biguint': {
      const size = k.size(o);
      if (size === undefined) throw new MikeyEncodeError(def.name, f.name, k.unknown(o));
      const big = typeof value === 'number' ? BigInt(value) : value;
      if (typeof big !== 'bigint' || big < 0n || big >= 1n << BigInt(8 * size)) {
        throw new MikeyEncodeError(def.name, f.name, `value ${String(value)} does not fit ${size} octets`);
      }
      const b = Buffer.alloc(size);
      let v = big;
      for (let i = size - 1; i >= 0; i--) {
        b[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      w.push(b);
      return;
    }
    case 'bytes':
      w.push(toBuffer(value, def.name, f.name));
      return;
    case 'list': {
      if (!Array.isArray(value)) throw new MikeyEncodeError(def.name, f.name, 'expected an array');
      for (const item of value as Rec[]) encodeStructInto(k.item, item, {}, w);
      return;
    }
  }
}

/** Encodes one structure (payload or sub-payload) after what `w` already holds. */
export function encodeStructInto(def: StructDef, o: Rec, ctx: EncodeContext, w: ByteWriter): void {
  for (const f of def.fields) {
    if (f.when && !f.when(o)) continue;
    writeField(def, f, o, ctx, w);
  }
}

export function encodeStruct(def: StructDef, o: Rec, ctx: EncodeContext = {}): Buffer {
  const w = new ByteWriter();
  encodeStructInto(def, o, ctx, w);
  return w.toBuffer();
}

function need(r: ByteReader, n: number, def: StructDef, f: FieldDef, what = 'octets'): void {
  if (r.remaining() < n) {
    throw new MikeyDecodeError(r.pos, def.name, `truncated: ${f.label} needs ${n} ${what}, ${r.remaining()} remain`);
  }
}

/** Unsigned big-endian integer of `size` octets at `at`, as a bigint (sizes 4 and 8 without a loop). */
function readBigUint(buf: Buffer, at: number, size: number): bigint {
  if (size === 8) return buf.readBigUInt64BE(at);
  if (size === 4) return BigInt(buf.readUInt32BE(at));
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(buf[at + i]!);
  return v;
}

/** Throws the error of a declared length that exceeds what remains (at the offset of the length field). */
function lengthExceeds(r: ByteReader, def: StructDef, f: FieldDef, lengthAt: number, size: number): never {
  const k = f.kind as { t: 'bytes' | 'list'; lengthField?: string };
  if (k.t === 'bytes' && k.lengthField === undefined) need(r, size, def, f);
  const what = k.t === 'bytes' ? `${f.label}: ${k.lengthField} ${size}` : `${k.lengthField} ${size}`;
  throw new MikeyDecodeError(lengthAt, def.name, `${what} exceeds the ${r.remaining()} octets that remain`);
}

type StructDecoder = (r: ByteReader, o: Rec) => Rec;

/**
 * A decoder per structure, generated once from its field table (as protocol compilers generate a parser
 * from a schema): straight-line code with the field names as constants, so each structure's decoder keeps
 * its own monomorphic property stores. This is the hot path of analyze (every payload of every message);
 * a loop over the table was 3-4 times slower. The table stays the only description: the generator below
 * is the one place that says how each field kind is read.
 */
const decoders = new WeakMap<StructDef, StructDecoder>();

function decoderOf(def: StructDef): StructDecoder {
  let decode = decoders.get(def);
  if (decode) return decode;
  const lines: string[] = ['const buf = r.buf;'];
  const indexOf = (name: string | undefined) => def.fields.findIndex((x) => x.name === name);
  def.fields.forEach((f, i) => {
    const k = f.kind;
    const F = `F[${i}]`;
    const name = JSON.stringify(f.name);
    const body: string[] = [`const at${i} = r.pos;`];
    switch (k.t) {
      case 'uint': {
        const read = k.bytes === 1 ? `buf[at${i}]` : k.bytes === 2 ? `buf.readUInt16BE(at${i})` : `buf.readUInt32BE(at${i})`;
        body.push(`if (r.end - at${i} < ${k.bytes}) need(r, ${k.bytes}, def, ${F});`, `o[${name}] = ${read};`, `r.pos = at${i} + ${k.bytes};`);
        break;
      }
      case 'bits': {
        body.push(`if (r.end - at${i} < 1) need(r, 1, def, ${F});`, `const byte${i} = buf[at${i}];`, `r.pos = at${i} + 1;`);
        let used = 0;
        for (const p of k.parts) {
          used += p.bits;
          const n = `((byte${i} >> ${8 - used}) & ${(1 << p.bits) - 1})`;
          body.push(`o[${JSON.stringify(p.name)}] = ${p.bool ? `${n} === 1` : n};`);
        }
        break;
      }
      case 'biguint':
        body.push(
          `const size${i} = ${F}.kind.size(o);`,
          `if (size${i} === undefined) throw new MikeyDecodeError(at${i}, def.name, ${F}.kind.unknown(o));`,
          `if (r.end - at${i} < size${i}) need(r, size${i}, def, ${F});`,
          `o[${name}] = readBigUint(buf, at${i}, size${i});`, `r.pos = at${i} + size${i};`);
        break;
      case 'bytes': {
        const lengthAt = k.lengthField !== undefined ? `at${indexOf(k.lengthField)}` : `at${i}`;
        body.push(
          k.lengthField !== undefined ? `const size${i} = o[${JSON.stringify(k.lengthField)}];` : `const size${i} = ${F}.kind.size(o);`,
          `if (size${i} === undefined) throw new MikeyDecodeError(at${i}, def.name, ${F}.kind.unknown?.(o) ?? ${JSON.stringify(`${f.label}: unknown length`)});`,
          `if (r.end - at${i} < size${i}) lengthExceeds(r, def, ${F}, ${lengthAt}, size${i});`,
          `o[${name}] = buf.subarray(at${i}, at${i} + size${i});`, `r.pos = at${i} + size${i};`);
        break;
      }
      case 'list': {
        body.push(`const items${i} = [];`, `const item${i} = ${F}.kind.item;`);
        if (k.countField !== undefined) {
          body.push(`for (let n = o[${JSON.stringify(k.countField)}]; n > 0; n--) items${i}.push(decodeStruct(item${i}, r));`);
        } else if (k.lengthField !== undefined) {
          body.push(
            `const len${i} = o[${JSON.stringify(k.lengthField)}];`,
            `if (r.end - at${i} < len${i}) lengthExceeds(r, def, ${F}, at${indexOf(k.lengthField)}, len${i});`,
            `const sub${i} = new ByteReader(buf, at${i}, at${i} + len${i});`,
            `while (sub${i}.end - sub${i}.pos > 0) {`,
            `  const before = sub${i}.pos;`,
            `  items${i}.push(decodeStruct(item${i}, sub${i}));`,
            `  if (sub${i}.pos <= before) throw new MikeyDecodeError(before, item${i}.name, 'sub-payload of zero length');`,
            `}`,
            `r.pos = sub${i}.pos;`);
        }
        body.push(`o[${name}] = items${i};`);
        break;
      }
    }
    if (f.check) body.push(`{ const reason = ${F}.check(o[${name}], o); if (reason) throw new MikeyDecodeError(at${i}, def.name, reason); }`);
    // A field present only under a condition on the fields before it; its offset variable exists either way
    if (f.when) lines.push(`let at${i} = -1;`, `if (${F}.when(o)) {`, ...body.map((l) => `  ${l.replace(`const at${i} = r.pos;`, `at${i} = r.pos;`)}`), '}');
    else lines.push(...body);
  });
  lines.push('return o;');
  const make = new Function('def', 'F', 'need', 'lengthExceeds', 'readBigUint', 'decodeStruct', 'ByteReader', 'MikeyDecodeError',
    `return function decode_${def.name.replace(/\W/g, '_')}(r, o) {\n${lines.join('\n')}\n};`);
  decode = make(def, def.fields, need, lengthExceeds, readBigUint, decodeStruct, ByteReader, MikeyDecodeError) as StructDecoder;
  decoders.set(def, decode);
  return decode;
}

/**
 * Decodes one structure at r.pos. Every field consumes at least its declared octets; a declared length
 * that exceeds what remains is reported at the offset of the length field. Octet strings are views into
 * r.buf (decodeMikey hands it a copy of the message of its own, so a decoded tree shares no memory with
 * the caller's buffer).
 */
export function decodeStruct(def: StructDef, r: ByteReader, o: Rec = {}): Rec {
  return decoderOf(def)(r, o);
}

// ---- display --------------------------------------------------------------------------------------------

function isPrintable(b: Buffer): boolean {
  return b.length > 0 && b.every((c) => c >= 0x20 && c < 0x7f);
}

/** Human-readable rendering of one field value, from its table entry. */
export function formatValue(f: { names?: Readonly<Record<number, string>>; display?: Display }, v: unknown): string {
  if (Buffer.isBuffer(v)) {
    const hex = v.length ? v.toString('hex') : '(empty)';
    if (f.display === 'text-or-hex' && isPrintable(v)) return `"${v.toString('latin1')}" (${v.length} octets)`;
    return v.length > 0 ? `${hex} (${v.length} octets)` : hex;
  }
  if (typeof v === 'bigint') return `${v.toString()} (0x${v.toString(16)})`;
  if (typeof v === 'number') {
    const name = f.names?.[v];
    const shown = f.display === 'hex' ? `0x${v.toString(16).padStart(8, '0')}` : String(v);
    return name !== undefined ? `${shown} (${name})` : shown;
  }
  return String(v);
}

/** Lines of a readable tree for one structure, indented by `indent`. */
export function describeStruct(def: StructDef, o: Rec, indent: string): string[] {
  const lines: string[] = [];
  for (const f of def.fields) {
    if (f.when && !f.when(o)) continue;
    const k = f.kind;
    if (k.t === 'bits') {
      for (const p of k.parts) {
        if (o[p.name] !== undefined) lines.push(`${indent}${p.label}: ${formatValue(p, o[p.name])}`);
      }
      continue;
    }
    const v = o[f.name];
    if (v === undefined) {
      if (f.computed) lines.push(`${indent}${f.label}: (computed)`);
      continue;
    }
    if (k.t === 'list') {
      const items = v as Rec[];
      lines.push(`${indent}${f.label}: ${items.length} item(s)`);
      items.forEach((item, i) => {
        lines.push(`${indent}  [${i}] ${k.item.title}`);
        lines.push(...describeStruct(k.item, item, `${indent}      `));
      });
      continue;
    }
    lines.push(`${indent}${f.label}: ${formatValue(f, v)}`);
  }
  return lines;
}

/** JSON value of one field: Buffers as hex, bigints as numbers when safe (else decimal strings). */
export function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}

export function structToJSON(def: StructDef, o: Rec): Rec {
  const out: Rec = {};
  for (const f of def.fields) {
    if (f.when && !f.when(o)) continue;
    const k = f.kind;
    if (k.t === 'bits') {
      for (const p of k.parts) if (o[p.name] !== undefined) out[p.name] = o[p.name];
      continue;
    }
    const v = o[f.name];
    if (v === undefined) continue;
    out[f.name] = k.t === 'list' ? (v as Rec[]).map((item) => structToJSON(k.item, item)) : jsonValue(v);
  }
  return out;
}
