// The MIKEY payload table (RFC 3830 §6, RFC 4563): one entry per payload and sub-payload. Encoding, decoding,
// field names, describeMikey and mikeyToJSON all read these entries, and the TypeScript types of messages
// (Hdr, Payload, KeyData, ...) are derived from the same entries (StructValue below): adding a field to the
// table adds it to the type.
import type { BitPart, Computed, FieldDef, FieldKind, Rec } from './fields.ts';

// ---- code points ----------------------------------------------------------------------------------------

/** Payload type codes, RFC 3830 Table 6.1.b and RFC 4563 (EXT = 21). */
export const PayloadCode = {
  LAST: 0, KEMAC: 1, PKE: 2, DH: 3, SIGN: 4, T: 5, ID: 6, CERT: 7, CHASH: 8, V: 9, SP: 10, RAND: 11, ERR: 12,
  KEY_DATA: 20, EXT: 21,
} as const;

export const payloadNames: Readonly<Record<number, string>> = {
  0: 'Last payload', 1: 'KEMAC', 2: 'PKE', 3: 'DH', 4: 'SIGN', 5: 'T', 6: 'ID', 7: 'CERT', 8: 'CHASH', 9: 'V',
  10: 'SP', 11: 'RAND', 12: 'ERR', 20: 'Key data', 21: 'EXT',
};

/** HDR data type, RFC 3830 §6.1. */
export const DataType = { PSK_INIT: 0, PSK_VER: 1, PK_INIT: 2, PK_VER: 3, DH_INIT: 4, DH_RESP: 5, ERROR: 6 } as const;
const dataTypeNames = { 0: 'Pre-shared', 1: 'PSK ver msg', 2: 'Public key', 3: 'PK ver msg', 4: 'D-H init', 5: 'D-H resp', 6: 'Error' };

/** CS ID map type, RFC 3830 §6.1 (SRTP-ID) and RFC 4563 §5 (Empty map). */
export const CsIdMapType = { SRTP_ID: 0, EMPTY: 1 } as const;
/** T payload TS type, RFC 3830 §6.6. */
export const TsType = { NTP_UTC: 0, NTP: 1, COUNTER: 2 } as const;
/** General Extension type, RFC 3830 §6.15 and RFC 4563 §4 (Key ID). */
export const ExtType = { VENDOR_ID: 0, SDP_IDS: 1, KEY_ID: 3 } as const;
/** Key ID types inside the Key ID extension, RFC 4563 §4. */
export const KeyIdType = { KEY_DOMAIN_ID: 0, MSK_ID: 1, MTK_ID: 2 } as const;
/** ID type, RFC 3830 §6.7. */
export const IdType = { NAI: 0, URI: 1 } as const;
/** KEMAC encryption and MAC algorithms, RFC 3830 §6.2. */
export const EncrAlg = { NULL: 0, AES_CM_128: 1, AES_KW_128: 2 } as const;
export const MacAlg = { NULL: 0, HMAC_SHA1_160: 1 } as const;
/** Key data type and KV type, RFC 3830 §6.13. */
export const KeyDataType = { TGK: 0, TGK_SALT: 1, TEK: 2, TEK_SALT: 3 } as const;
export const KvType = { NULL: 0, SPI: 1, INTERVAL: 2 } as const;
/** Error numbers, RFC 3830 §6.12. */
export const ErrorNo = {
  AUTH_FAILURE: 0, INVALID_TS: 1, INVALID_PRF: 2, INVALID_MAC: 3, INVALID_EA: 4, INVALID_HA: 5, INVALID_DH: 6,
  INVALID_ID: 7, INVALID_CERT: 8, INVALID_SP: 9, INVALID_SPPAR: 10, INVALID_DT: 11, UNSPECIFIED: 12,
} as const;

const tsTypeNames = { 0: 'NTP-UTC', 1: 'NTP', 2: 'COUNTER' };
const extTypeNames = { 0: 'Vendor ID', 1: 'SDP IDs', 3: 'Key ID' };
const keyIdTypeNames = { 0: 'Key Domain ID', 1: 'MSK ID', 2: 'MTK ID' };
const idTypeNames = { 0: 'NAI', 1: 'URI' };
const encrAlgNames = { 0: 'NULL', 1: 'AES-CM-128', 2: 'AES-KW-128' };
const macAlgNames = { 0: 'NULL', 1: 'HMAC-SHA-1-160' };
const kdTypeNames = { 0: 'TGK', 1: 'TGK+SALT', 2: 'TEK', 3: 'TEK+SALT' };
const kvNames = { 0: 'Null', 1: 'SPI/MKI', 2: 'Interval' };
const errorNames = {
  0: 'Auth failure', 1: 'Invalid TS', 2: 'Invalid PRF', 3: 'Invalid MAC', 4: 'Invalid EA', 5: 'Invalid HA',
  6: 'Invalid DH', 7: 'Invalid ID', 8: 'Invalid Cert', 9: 'Invalid SP', 10: 'Invalid SPpar', 11: 'Invalid DT',
  12: 'Unspecified error',
};
/** SRTP policy parameter types, RFC 3830 §6.10.1. */
const srtpParamNames = {
  0: 'Encryption algorithm', 1: 'Session Encr. key length', 2: 'Authentication algorithm',
  3: 'Session Auth. key length', 4: 'Session Salt key length', 5: 'SRTP Pseudo Random Function',
  6: 'Key derivation rate', 7: 'SRTP encryption off/on', 8: 'SRTCP encryption off/on',
  9: 'sender\'s FEC order', 10: 'SRTP authentication off/on', 11: 'Authentication tag length',
  12: 'SRTP packet prefix length',
};
const protTypeNames = { 0: 'SRTP' };

/** MAC / verification data length for a MAC algorithm (RFC 3830 §6.2, §6.9); undefined = unknown. */
export function macLength(alg: number): number | undefined {
  return alg === MacAlg.NULL ? 0 : alg === MacAlg.HMAC_SHA1_160 ? 20 : undefined;
}

// ---- field shorthands (generic, so each entry keeps its literal name and options for the derived types) --

/** Options of a field besides its name, label and kind. */
type FieldOptions = Partial<Omit<FieldDef, 'name' | 'label' | 'kind'>>;

const next = { name: 'next', label: 'Next payload', kind: { t: 'uint', bytes: 1 }, computed: { c: 'next' }, names: payloadNames } as const satisfies FieldDef;
// (NoInfer: the options are inferred from the argument alone, never from the FieldDef the table expects)
const uint = <const B extends 1 | 2 | 4>(bytes: B) => <const N extends string, const X extends FieldOptions = {}>(name: N, label: string, extra?: X) =>
  ({ name, label, kind: { t: 'uint', bytes }, ...(extra as X) }) as { name: N; label: string; kind: { t: 'uint'; bytes: B } } & NoInfer<X>;
const u8 = uint(1);
const u16 = uint(2);
const u32 = uint(4);
const lengthOf = (...fields: string[]) => ({ c: 'lengthOf', fields }) as const;
const bytes = <const N extends string, const X extends FieldOptions = {}>(name: N, label: string, lengthField: string, extra?: X) =>
  ({ name, label, kind: { t: 'bytes', lengthField }, ...(extra as X) }) as { name: N; label: string; kind: { t: 'bytes'; lengthField: string } } & NoInfer<X>;
const known = (names: Readonly<Record<number, string>>, what: string) => (v: unknown) =>
  names[v as number] === undefined ? `unknown ${what} ${String(v)}` : undefined;
/** A sub-payload or header: its fields in wire order. */
const struct = <const F extends readonly FieldDef[]>(name: string, title: string, fields: F) => ({ name, title, fields });
/** A payload of the chain: its code (RFC 3830 Table 6.1.b) and the name messages use for it. */
const payload = <const T extends string, const F extends readonly FieldDef[]>(code: number, type: T, title: string, fields: F) =>
  ({ code, type, name: type, title, fields });

// ---- sub-payloads ---------------------------------------------------------------------------------------

/** SRTP-ID map entry, RFC 3830 §6.1.1: the i-th entry describes crypto session i (1-based). */
export const srtpIdEntryDef = struct('CS-ID', 'SRTP-ID map entry',
  [u8('policyNo', 'Policy_no_i'), u32('ssrc', 'SSRC_i', { display: 'hex' }), u32('roc', 'ROC_i')]);

/** Key ID sub-payload of the Key ID extension, RFC 4563 §4. */
export const keyIdDef = struct('KEY-ID', 'Key ID', [
  u8('idType', 'Key ID Type', { names: keyIdTypeNames }),
  u8('length', 'Key ID Length', { computed: lengthOf('value') }),
  bytes('value', 'Key ID', 'length'),
]);

/** SRTP policy parameter, RFC 3830 §6.10. */
export const policyParamDef = struct('SP-PARAM', 'Policy param', [
  u8('paramType', 'Type', { names: srtpParamNames }),
  u8('length', 'Length', { computed: lengthOf('value') }),
  bytes('value', 'Value', 'length'),
]);

const hasSalt = (o: Rec) => o.kdType === KeyDataType.TGK_SALT || o.kdType === KeyDataType.TEK_SALT;

/** Key data sub-payload (code 20), RFC 3830 §6.13/§6.14: the plaintext inside the KEMAC encr data. */
export const keyDataDef = struct('KEY-DATA', 'Key data', [
  next,
  {
    name: 'typeKv', label: 'Type|KV', kind: {
      t: 'bits', parts: [
        { name: 'kdType', label: 'Type', bits: 4, names: kdTypeNames },
        { name: 'kv', label: 'KV', bits: 4, default: 0, names: kvNames },
      ],
    },
    check: (_v, o) => known(kdTypeNames, 'key data type')(o.kdType) ?? known(kvNames, 'KV type')(o.kv),
  },
  u16('length', 'Key data len', { computed: lengthOf('key') }),
  bytes('key', 'Key data', 'length'),
  u16('saltLength', 'Salt len', { computed: lengthOf('salt'), when: hasSalt }),
  bytes('salt', 'Salt data', 'saltLength', { when: hasSalt }),
  u8('spiLength', 'SPI Length', { computed: lengthOf('spi'), when: (o: Rec) => o.kv === KvType.SPI }),
  bytes('spi', 'SPI', 'spiLength', { when: (o: Rec) => o.kv === KvType.SPI }),
  u8('vfLength', 'VF Length', { computed: lengthOf('validFrom'), when: (o: Rec) => o.kv === KvType.INTERVAL }),
  bytes('validFrom', 'Valid From', 'vfLength', { when: (o: Rec) => o.kv === KvType.INTERVAL }),
  u8('vtLength', 'VT Length', { computed: lengthOf('validTo'), when: (o: Rec) => o.kv === KvType.INTERVAL }),
  bytes('validTo', 'Valid To', 'vtLength', { when: (o: Rec) => o.kv === KvType.INTERVAL }),
]);

// ---- payloads -------------------------------------------------------------------------------------------

/** Common header, RFC 3830 §6.1 with the Empty map of RFC 4563 §5. */
export const hdrDef = struct('HDR', 'Common header (HDR)', [
  u8('version', 'Version', { default: 1, check: (v: unknown) => (v === 1 ? undefined : `unsupported version ${String(v)}`) }),
  u8('dataType', 'Data type', { names: dataTypeNames }),
  { ...next },
  {
    name: 'vPrf', label: 'V|PRF func', kind: {
      t: 'bits', parts: [
        { name: 'v', label: 'V', bits: 1, bool: true, default: false },
        { name: 'prf', label: 'PRF func', bits: 7, default: 0, names: { 0: 'MIKEY-1' } },
      ],
    },
  },
  u32('csbId', 'CSB ID', { display: 'hex' }),
  u8('numCs', '#CS', { computed: { c: 'countOf', field: 'csIdMap' } }),
  u8('csIdMapType', 'CS ID map type', {
    default: CsIdMapType.EMPTY, names: { 0: 'SRTP-ID', 1: 'Empty map' },
    check: (v: unknown) => (v === 0 || v === 1 ? undefined : `unknown CS ID map type ${String(v)}`),
  }),
  {
    name: 'csIdMap', label: 'CS ID map info', kind: { t: 'list', item: srtpIdEntryDef, countField: 'numCs' },
    when: (o: Rec) => (o.csIdMapType ?? CsIdMapType.EMPTY) === CsIdMapType.SRTP_ID,
  },
]);

export const extDef = payload(PayloadCode.EXT, 'EXT', 'General Extension (EXT)', [
  next,
  u8('extType', 'Type', { names: extTypeNames }),
  u16('length', 'Length', { computed: lengthOf('keyIds', 'data') }),
  { name: 'keyIds', label: 'Key IDs', kind: { t: 'list', item: keyIdDef, lengthField: 'length' }, when: (o: Rec) => o.extType === ExtType.KEY_ID },
  bytes('data', 'Data', 'length', { when: (o: Rec) => o.extType !== ExtType.KEY_ID }),
  ],);

export const tDef = payload(PayloadCode.T, 'T', 'Timestamp (T)', [
  next,
  u8('tsType', 'TS type', { names: tsTypeNames, check: known(tsTypeNames, 'TS type') }),
  {
    name: 'tsValue', label: 'TS value', kind: {
      t: 'biguint',
      size: (o) => (o.tsType === TsType.COUNTER ? 4 : o.tsType === TsType.NTP || o.tsType === TsType.NTP_UTC ? 8 : undefined),
      unknown: (o) => `unknown TS type ${String(o.tsType)}`,
    },
  },
  ],);

export const randDef = payload(PayloadCode.RAND, 'RAND', 'RAND', [next, u8('length', 'RAND len', { computed: lengthOf('rand') }), bytes('rand', 'RAND', 'length')]);

export const idDef = payload(PayloadCode.ID, 'ID', 'Identity (ID)', [
  next,
  u8('idType', 'ID Type', { names: idTypeNames, default: IdType.URI }),
  u16('length', 'ID len', { computed: lengthOf('id') }),
  bytes('id', 'ID data', 'length', { display: 'text-or-hex' }),
  ],);

export const spDef = payload(PayloadCode.SP, 'SP', 'Security Policy (SP)', [
  next,
  u8('policyNo', 'Policy no'),
  u8('protType', 'Prot type', { names: protTypeNames, default: 0 }),
  u16('length', 'Policy param length', { computed: lengthOf('params') }),
  { name: 'params', label: 'Policy params', kind: { t: 'list', item: policyParamDef, lengthField: 'length' } },
  ],);

export const kemacDef = payload(PayloadCode.KEMAC, 'KEMAC', 'Key data transport (KEMAC)', [
  next,
  u8('encrAlg', 'Encr alg', { names: encrAlgNames, default: EncrAlg.AES_CM_128 }),
  u16('length', 'Encr data len', { computed: lengthOf('encrData') }),
  bytes('encrData', 'Encr data', 'length'),
  u8('macAlg', 'MAC alg', { names: macAlgNames, default: MacAlg.HMAC_SHA1_160, check: known(macAlgNames, 'MAC alg') }),
  {
    name: 'mac', label: 'MAC', computed: { c: 'mac' },
    kind: { t: 'bytes', size: (o) => macLength(o.macAlg as number), unknown: (o) => `unknown MAC alg ${String(o.macAlg)}` },
  },
  ],);

export const vDef = payload(PayloadCode.V, 'V', 'Verification (V)', [
  next,
  u8('authAlg', 'Auth alg', { names: macAlgNames, default: MacAlg.HMAC_SHA1_160, check: known(macAlgNames, 'auth alg') }),
  {
    name: 'mac', label: 'Ver data',
    kind: { t: 'bytes', size: (o) => macLength(o.authAlg as number), unknown: (o) => `unknown auth alg ${String(o.authAlg)}` },
  },
  ],);

export const errDef = payload(PayloadCode.ERR, 'ERR', 'Error (ERR)', [next, u8('errorNo', 'Error no', { names: errorNames }), u16('reserved', 'Reserved', { default: 0 })]);

// ---- registry (dispatch by payload code, as scapy's bind_layers) ----------------------------------------

/** Every payload of the chain, RFC 3830 §6 and RFC 4563; the registry, the names and the types derive from it. */
export const payloadSpecs = [extDef, tDef, randDef, idDef, spDef, kemacDef, vDef, errDef] as const;
export type PayloadSpec = (typeof payloadSpecs)[number];
export type PayloadTypeName = PayloadSpec['type'];

export const payloadRegistry: ReadonlyMap<number, PayloadSpec> = new Map(payloadSpecs.map((d) => [d.code, d]));
export const payloadSpecByType = Object.fromEntries(payloadSpecs.map((d) => [d.type, d])) as
  { readonly [S in PayloadSpec as S['type']]: S };

// ---- static types derived from the table ----------------------------------------------------------------

/**
 * The value of a struct of the table, as the encoder takes it and the decoder returns it: one property per
 * field (a bit field gives one per part). A field is optional when the encoder can fill it in (computed,
 * default) or when it is present only under a condition; `offset` is the decoder's position of the struct.
 */
export type StructValue<S> = S extends { fields: readonly (infer F)[] }
  ? Flat<{ [E in Entry<F> as E['optional'] extends true ? never : E['name']]: E['value'] }
    & { [E in Entry<F> as E['optional'] extends true ? E['name'] : never]?: E['value'] }
    & { offset?: number }>
  : never;
type Flat<T> = { [K in keyof T]: T[K] };
type Entry<F> = F extends { kind: { t: 'bits'; parts: readonly (infer P)[] } } ? PartEntry<P> : FieldEntry<F>;
type PartEntry<P> = P extends BitPart & { name: infer N extends string }
  ? { name: N; value: P extends { bool: true } ? boolean : number; optional: P extends { default: unknown } ? true : false }
  : never;
type FieldEntry<F> = F extends { name: infer N extends string; kind: infer K extends FieldKind }
  ? { name: N; value: KindValue<K>; optional: F extends { computed: Computed } | { default: unknown } | { when: unknown } ? true : false }
  : never;
type KindValue<K> = K extends { t: 'uint' } ? number
  : K extends { t: 'biguint' } ? bigint
  : K extends { t: 'bytes' } ? Buffer
  : K extends { t: 'list'; item: infer S } ? StructValue<S>[]
  : never;

/** A payload of the chain: its table name as `type`, then its fields. */
type PayloadOf<S> = S extends PayloadSpec ? Flat<{ type: S['type'] } & StructValue<S>> : never;
export type Payload = PayloadOf<PayloadSpec>;
export type ExtPayload = Extract<Payload, { type: 'EXT' }>;
export type TPayload = Extract<Payload, { type: 'T' }>;
export type RandPayload = Extract<Payload, { type: 'RAND' }>;
export type IdPayload = Extract<Payload, { type: 'ID' }>;
export type SpPayload = Extract<Payload, { type: 'SP' }>;
/** `mac` is computed by encodeMikey from opts.authKey when undefined. */
export type KemacPayload = Extract<Payload, { type: 'KEMAC' }>;
export type VPayload = Extract<Payload, { type: 'V' }>;
export type ErrPayload = Extract<Payload, { type: 'ERR' }>;

export type Hdr = StructValue<typeof hdrDef>;
export type SrtpIdEntry = StructValue<typeof srtpIdEntryDef>;
export type KeyId = StructValue<typeof keyIdDef>;
export type PolicyParam = StructValue<typeof policyParamDef>;
/** Key data sub-payload (KEMAC plaintext). */
export type KeyData = StructValue<typeof keyDataDef>;

export interface MikeyMessage { hdr: Hdr; payloads: Payload[] }
