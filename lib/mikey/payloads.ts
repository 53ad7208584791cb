// The MIKEY payload table (RFC 3830 §6, RFC 4563): one entry per payload and sub-payload. Encoding, decoding,
// field names, describeMikey and mikeyToJSON all read these entries; the TypeScript interfaces below only
// give the same field names a static type.
import type { FieldDef, Rec, StructDef } from './fields.ts';

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

// ---- field shorthands -----------------------------------------------------------------------------------

const next: FieldDef = { name: 'next', label: 'Next payload', kind: { t: 'uint', bytes: 1 }, computed: { c: 'next' }, names: payloadNames };
const u8 = (name: string, label: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, label, kind: { t: 'uint', bytes: 1 }, ...extra });
const u16 = (name: string, label: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, label, kind: { t: 'uint', bytes: 2 }, ...extra });
const u32 = (name: string, label: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, label, kind: { t: 'uint', bytes: 4 }, ...extra });
const lengthOf = (...fields: string[]) => ({ c: 'lengthOf', fields }) as const;
const bytes = (name: string, label: string, lengthField: string, extra: Partial<FieldDef> = {}): FieldDef =>
  ({ name, label, kind: { t: 'bytes', lengthField }, ...extra });
const known = (names: Readonly<Record<number, string>>, what: string) => (v: unknown) =>
  names[v as number] === undefined ? `unknown ${what} ${String(v)}` : undefined;

// ---- sub-payloads ---------------------------------------------------------------------------------------

/** SRTP-ID map entry, RFC 3830 §6.1.1: the i-th entry describes crypto session i (1-based). */
export const srtpIdEntryDef: StructDef = {
  name: 'CS-ID', title: 'SRTP-ID map entry',
  fields: [u8('policyNo', 'Policy_no_i'), u32('ssrc', 'SSRC_i', { display: 'hex' }), u32('roc', 'ROC_i')],
};

/** Key ID sub-payload of the Key ID extension, RFC 4563 §4. */
export const keyIdDef: StructDef = {
  name: 'KEY-ID', title: 'Key ID',
  fields: [
    u8('idType', 'Key ID Type', { names: keyIdTypeNames }),
    u8('length', 'Key ID Length', { computed: lengthOf('value') }),
    bytes('value', 'Key ID', 'length'),
  ],
};

/** SRTP policy parameter, RFC 3830 §6.10. */
export const policyParamDef: StructDef = {
  name: 'SP-PARAM', title: 'Policy param',
  fields: [
    u8('paramType', 'Type', { names: srtpParamNames }),
    u8('length', 'Length', { computed: lengthOf('value') }),
    bytes('value', 'Value', 'length'),
  ],
};

const hasSalt = (o: Rec) => o.kdType === KeyDataType.TGK_SALT || o.kdType === KeyDataType.TEK_SALT;

/** Key data sub-payload (code 20), RFC 3830 §6.13/§6.14: the plaintext inside the KEMAC encr data. */
export const keyDataDef: StructDef = {
  name: 'KEY-DATA', title: 'Key data',
  fields: [
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
    u8('spiLength', 'SPI Length', { computed: lengthOf('spi'), when: (o) => o.kv === KvType.SPI }),
    bytes('spi', 'SPI', 'spiLength', { when: (o) => o.kv === KvType.SPI }),
    u8('vfLength', 'VF Length', { computed: lengthOf('validFrom'), when: (o) => o.kv === KvType.INTERVAL }),
    bytes('validFrom', 'Valid From', 'vfLength', { when: (o) => o.kv === KvType.INTERVAL }),
    u8('vtLength', 'VT Length', { computed: lengthOf('validTo'), when: (o) => o.kv === KvType.INTERVAL }),
    bytes('validTo', 'Valid To', 'vtLength', { when: (o) => o.kv === KvType.INTERVAL }),
  ],
};

// ---- payloads -------------------------------------------------------------------------------------------

/** Common header, RFC 3830 §6.1 with the Empty map of RFC 4563 §5. */
export const hdrDef: StructDef = {
  name: 'HDR', title: 'Common header (HDR)',
  fields: [
    u8('version', 'Version', { default: 1, check: (v) => (v === 1 ? undefined : `unsupported version ${String(v)}`) }),
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
      check: (v) => (v === 0 || v === 1 ? undefined : `unknown CS ID map type ${String(v)}`),
    }),
    {
      name: 'csIdMap', label: 'CS ID map info', kind: { t: 'list', item: srtpIdEntryDef, countField: 'numCs' },
      when: (o) => (o.csIdMapType ?? CsIdMapType.EMPTY) === CsIdMapType.SRTP_ID,
    },
  ],
};

export interface PayloadSpec extends StructDef {
  code: number;
  type: PayloadTypeName;
}

export const extDef: PayloadSpec = {
  code: PayloadCode.EXT, type: 'EXT', name: 'EXT', title: 'General Extension (EXT)',
  fields: [
    next,
    u8('extType', 'Type', { names: extTypeNames }),
    u16('length', 'Length', { computed: lengthOf('keyIds', 'data') }),
    { name: 'keyIds', label: 'Key IDs', kind: { t: 'list', item: keyIdDef, lengthField: 'length' }, when: (o) => o.extType === ExtType.KEY_ID },
    bytes('data', 'Data', 'length', { when: (o) => o.extType !== ExtType.KEY_ID }),
  ],
};

export const tDef: PayloadSpec = {
  code: PayloadCode.T, type: 'T', name: 'T', title: 'Timestamp (T)',
  fields: [
    next,
    u8('tsType', 'TS type', { names: tsTypeNames, check: known(tsTypeNames, 'TS type') }),
    {
      name: 'tsValue', label: 'TS value', kind: {
        t: 'biguint',
        size: (o) => (o.tsType === TsType.COUNTER ? 4 : o.tsType === TsType.NTP || o.tsType === TsType.NTP_UTC ? 8 : undefined),
        unknown: (o) => `unknown TS type ${String(o.tsType)}`,
      },
    },
  ],
};

export const randDef: PayloadSpec = {
  code: PayloadCode.RAND, type: 'RAND', name: 'RAND', title: 'RAND',
  fields: [next, u8('length', 'RAND len', { computed: lengthOf('rand') }), bytes('rand', 'RAND', 'length')],
};

export const idDef: PayloadSpec = {
  code: PayloadCode.ID, type: 'ID', name: 'ID', title: 'Identity (ID)',
  fields: [
    next,
    u8('idType', 'ID Type', { names: idTypeNames, default: IdType.URI }),
    u16('length', 'ID len', { computed: lengthOf('id') }),
    bytes('id', 'ID data', 'length', { display: 'text-or-hex' }),
  ],
};

export const spDef: PayloadSpec = {
  code: PayloadCode.SP, type: 'SP', name: 'SP', title: 'Security Policy (SP)',
  fields: [
    next,
    u8('policyNo', 'Policy no'),
    u8('protType', 'Prot type', { names: protTypeNames, default: 0 }),
    u16('length', 'Policy param length', { computed: lengthOf('params') }),
    { name: 'params', label: 'Policy params', kind: { t: 'list', item: policyParamDef, lengthField: 'length' } },
  ],
};

export const kemacDef: PayloadSpec = {
  code: PayloadCode.KEMAC, type: 'KEMAC', name: 'KEMAC', title: 'Key data transport (KEMAC)',
  fields: [
    next,
    u8('encrAlg', 'Encr alg', { names: encrAlgNames, default: EncrAlg.AES_CM_128 }),
    u16('length', 'Encr data len', { computed: lengthOf('encrData') }),
    bytes('encrData', 'Encr data', 'length'),
    u8('macAlg', 'MAC alg', { names: macAlgNames, default: MacAlg.HMAC_SHA1_160, check: known(macAlgNames, 'MAC alg') }),
    {
      name: 'mac', label: 'MAC', computed: { c: 'mac' },
      kind: { t: 'bytes', size: (o) => macLength(o.macAlg as number), unknown: (o) => `unknown MAC alg ${String(o.macAlg)}` },
    },
  ],
};

export const vDef: PayloadSpec = {
  code: PayloadCode.V, type: 'V', name: 'V', title: 'Verification (V)',
  fields: [
    next,
    u8('authAlg', 'Auth alg', { names: macAlgNames, default: MacAlg.HMAC_SHA1_160, check: known(macAlgNames, 'auth alg') }),
    {
      name: 'mac', label: 'Ver data',
      kind: { t: 'bytes', size: (o) => macLength(o.authAlg as number), unknown: (o) => `unknown auth alg ${String(o.authAlg)}` },
    },
  ],
};

export const errDef: PayloadSpec = {
  code: PayloadCode.ERR, type: 'ERR', name: 'ERR', title: 'Error (ERR)',
  fields: [next, u8('errorNo', 'Error no', { names: errorNames }), u16('reserved', 'Reserved', { default: 0 })],
};

// ---- registry (scapy's bind_layers: dispatch by payload code) -------------------------------------------

export type PayloadTypeName = 'EXT' | 'T' | 'RAND' | 'ID' | 'SP' | 'KEMAC' | 'V' | 'ERR';

export const payloadRegistry: ReadonlyMap<number, PayloadSpec> = new Map(
  [extDef, tDef, randDef, idDef, spDef, kemacDef, vDef, errDef].map((d) => [d.code, d]),
);
export const payloadSpecByType: Readonly<Record<PayloadTypeName, PayloadSpec>> = {
  EXT: extDef, T: tDef, RAND: randDef, ID: idDef, SP: spDef, KEMAC: kemacDef, V: vDef, ERR: errDef,
};

// ---- static types of the table's field names ------------------------------------------------------------

/** Fields the encoder computes when left undefined; decoded messages carry the values as read. */
interface Chained {
  /** Next payload code; computed from the following payload. */
  next?: number;
  /** Byte offset of the payload in the decoded message (decoder output only; ignored by the encoder). */
  offset?: number;
}

export interface SrtpIdEntry { policyNo: number; ssrc: number; roc: number }

export interface Hdr {
  version?: number;          // default 1
  dataType: number;          // DataType
  next?: number;             // computed: code of the first payload
  v: boolean;
  prf?: number;              // default 0 (MIKEY-1)
  csbId: number;
  numCs?: number;            // computed: csIdMap.length
  csIdMapType?: number;      // default 1 (Empty map)
  csIdMap?: SrtpIdEntry[];   // SRTP-ID map entries (csIdMapType 0)
  offset?: number;
}

export interface KeyId { idType: number; length?: number; value: Buffer }
export interface PolicyParam { paramType: number; length?: number; value: Buffer }

export interface ExtPayload extends Chained {
  type: 'EXT'; extType: number; length?: number;
  keyIds?: KeyId[];          // extType 3 (Key ID)
  data?: Buffer;             // any other extension type, kept as raw octets
}
export interface TPayload extends Chained { type: 'T'; tsType: number; tsValue: bigint }
export interface RandPayload extends Chained { type: 'RAND'; length?: number; rand: Buffer }
export interface IdPayload extends Chained { type: 'ID'; idType?: number; length?: number; id: Buffer }
export interface SpPayload extends Chained { type: 'SP'; policyNo: number; protType?: number; length?: number; params: PolicyParam[] }
export interface KemacPayload extends Chained {
  type: 'KEMAC'; encrAlg?: number; length?: number; encrData: Buffer; macAlg?: number;
  /** Computed by encodeMikey from opts.authKey when undefined. */
  mac?: Buffer;
}
export interface VPayload extends Chained { type: 'V'; authAlg?: number; mac: Buffer }
export interface ErrPayload extends Chained { type: 'ERR'; errorNo: number; reserved?: number }

export type Payload = ExtPayload | TPayload | RandPayload | IdPayload | SpPayload | KemacPayload | VPayload | ErrPayload;

export interface MikeyMessage { hdr: Hdr; payloads: Payload[] }

/** Key data sub-payload (KEMAC plaintext). */
export interface KeyData {
  next?: number;
  kdType: number;            // KeyDataType
  kv: number;                // KvType
  length?: number;
  key: Buffer;
  saltLength?: number;
  salt?: Buffer;             // with TGK+SALT / TEK+SALT
  spiLength?: number;
  spi?: Buffer;              // KV = SPI/MKI
  vfLength?: number;
  validFrom?: Buffer;        // KV = Interval
  vtLength?: number;
  validTo?: Buffer;
}
