// MIKEY options of the 33.246 profile: every open point of protocol §9 that touches MIKEY, with the §9
// default. Plain JSON-serialisable data so lib/mbms can embed it in the full profile and its JSON schema.
import type { VerificationMacVariant, CounterPadding } from './crypto.ts';

export type KeyDataTypeName = 'TGK' | 'TGK+SALT' | 'TEK' | 'TEK+SALT';
export type KvName = 'null' | 'spi' | 'interval';
export type KeyIdName = 'keyDomainId' | 'mskId' | 'mtkId';

export interface MikeyProfile {
  /** O7: TS type of key messages; the NTP types accept a skew window. */
  timestamp: { type: 'counter' | 'ntp-utc' | 'ntp'; skewWindowSeconds: number };
  /** O8: how a 32-bit COUNTER becomes the 64-bit T of the AES-CM IV. */
  ivCounterPadding: CounterPadding;
  /** O9: payload set per message type (order follows protocol §4.10). */
  payloads: {
    msk: { idi: boolean; idr: boolean; sp: boolean };
    mtk: { rand: boolean; idi: boolean; idr: boolean };
  };
  /**
   * O10: CSB ID semantics. MSK messages and triggers: drawn for every message, copies included (default),
   * drawn once per delivery and kept by its retransmissions, or fixed per MUK. MTK messages: fixed per MSK.
   */
  csbId: { msk: 'random-per-message' | 'random-per-delivery' | 'fixed-per-muk'; mtk: 'fixed-per-msk' | 'random-per-message' };
  /** O11: CS ID map of MSK and MTK messages (download: Empty map, #CS 0; streaming: SRTP-ID entries). */
  csIdMap: { type: 'empty' | 'srtp-id'; numCs: number; srtpEntries: { policyNo: number; ssrc: number; roc: number }[] };
  /** O12: key data type and KV of MSK and MTK key data. */
  keyData: { msk: { type: KeyDataTypeName; kv: KvName }; mtk: { type: KeyDataTypeName; kv: KvName } };
  /** O13: EXT Key ID contents and lengths (octets). */
  ext: { mskMessageMtkId: boolean; keyDomainIdLength: number; mskIdLength: number; mtkIdLength: number };
  /** O14: Key Domain ID layout; carried as opaque octets here (lib/mbms builds them). */
  keyDomainIdLayout: 'plmn-bcd' | 'opaque';
  /** O15: RAND entering the MTK-message key derivation. */
  mtkRandSource: 'msk-rand' | 'empty';
  /** O16: verification MAC variant and ACK payloads. */
  verification: { macVariant: VerificationMacVariant; ext: boolean; idr: boolean; timestamp: 'echoed' | 'fresh' };
  /** O20: solicited-pull trigger shape. */
  trigger: { zeroKeyIds: KeyIdName[]; mtkId: boolean; kemac: 'empty' | 'absent' };
  /** Algorithms of KEMAC (protocol §4.7: NULL must be rejected). */
  algorithms: { encr: 'AES-CM-128'; mac: 'HMAC-SHA-1-160' };
}

/** Protocol §9 defaults. */
export const defaultMikeyProfile: MikeyProfile = deepFreeze({
  timestamp: { type: 'counter', skewWindowSeconds: 300 },
  ivCounterPadding: 'left-zero',
  payloads: { msk: { idi: true, idr: true, sp: false }, mtk: { rand: false, idi: false, idr: false } },
  csbId: { msk: 'random-per-message', mtk: 'fixed-per-msk' },
  csIdMap: { type: 'empty', numCs: 0, srtpEntries: [] },
  keyData: { msk: { type: 'TGK', kv: 'null' }, mtk: { type: 'TGK', kv: 'null' } },
  ext: { mskMessageMtkId: false, keyDomainIdLength: 3, mskIdLength: 4, mtkIdLength: 2 },
  keyDomainIdLayout: 'plmn-bcd',
  mtkRandSource: 'msk-rand',
  verification: { macVariant: 'rfc-ids-ts8', ext: false, idr: false, timestamp: 'echoed' },
  trigger: { zeroKeyIds: ['mskId', 'mtkId'], mtkId: false, kemac: 'empty' },
  algorithms: { encr: 'AES-CM-128', mac: 'HMAC-SHA-1-160' },
});

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** A deep copy of the defaults with `overrides` merged in (objects merged, arrays and scalars replaced). */
export function mikeyProfile(overrides: DeepPartial<MikeyProfile> = {}): MikeyProfile {
  return merge(structuredClone(defaultMikeyProfile), overrides) as MikeyProfile;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) {
    return structuredClone(over);
  }
  const out = base as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

// ---- JSON Schema (draft 2020-12) of MikeyProfile, for embedding in the full profile schema ---------------

const obj = (description: string, properties: Record<string, unknown>) => ({
  type: 'object', description, additionalProperties: false, required: Object.keys(properties), properties,
});
const enumOf = (description: string, values: readonly string[]) => ({ description, enum: [...values] });
const bool = (description: string) => ({ type: 'boolean', description });
const octets = (description: string) => ({ type: 'integer', minimum: 1, maximum: 255, description });
const kdTypes = ['TGK', 'TGK+SALT', 'TEK', 'TEK+SALT'] as const;
const kvs = ['null', 'spi', 'interval'] as const;
const keyDataChoice = (what: string) => obj(`${what} key data`, {
  type: enumOf('Key data type (RFC 3830 §6.13)', kdTypes),
  kv: enumOf('KV type (RFC 3830 §6.13)', kvs),
});

/** JSON Schema of MikeyProfile (no $schema/$id, so it embeds as a sub-schema). */
export const mikeyProfileSchema = obj('MIKEY options of the 33.246 profile (protocol §9 O7-O16, O20)', {
  timestamp: obj('O7: TS type of key messages', {
    type: enumOf('TS type', ['counter', 'ntp-utc', 'ntp']),
    skewWindowSeconds: { type: 'number', minimum: 0, description: 'Allowed clock skew for NTP timestamps' },
  }),
  ivCounterPadding: enumOf('O8: 32-bit COUNTER to the 64-bit T of the AES-CM IV', ['left-zero', 'right-zero']),
  payloads: obj('O9: payload set per message type', {
    msk: obj('MSK message and trigger', { idi: bool('IDi present'), idr: bool('IDr present'), sp: bool('SP present (streaming)') }),
    mtk: obj('MTK message', { rand: bool('RAND present'), idi: bool('IDi present'), idr: bool('IDr present') }),
  }),
  csbId: obj('O10: CSB ID semantics', {
    msk: enumOf('MSK messages', ['random-per-message', 'random-per-delivery', 'fixed-per-muk']),
    mtk: enumOf('MTK messages', ['fixed-per-msk', 'random-per-message']),
  }),
  csIdMap: obj('O11: CS ID map', {
    type: enumOf('CS ID map type', ['empty', 'srtp-id']),
    numCs: { type: 'integer', minimum: 0, maximum: 255, description: '#CS announced with the Empty map' },
    srtpEntries: {
      type: 'array', maxItems: 255, description: 'SRTP-ID map entries (crypto session i = entry i)',
      items: obj('SRTP-ID entry', {
        policyNo: { type: 'integer', minimum: 0, maximum: 255, description: 'Policy_no_i' },
        ssrc: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'SSRC_i' },
        roc: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'ROC_i' },
      }),
    },
  }),
  keyData: obj('O12: key data type and KV', { msk: keyDataChoice('MSK'), mtk: keyDataChoice('MTK') }),
  ext: obj('O13: Key ID extension contents and lengths', {
    mskMessageMtkId: bool('MSK messages carry an MTK ID'),
    keyDomainIdLength: octets('Key Domain ID length (octets)'),
    mskIdLength: octets('MSK ID length (octets)'),
    mtkIdLength: octets('MTK ID length (octets)'),
  }),
  keyDomainIdLayout: enumOf('O14: Key Domain ID layout', ['plmn-bcd', 'opaque']),
  mtkRandSource: enumOf('O15: RAND of the MTK-message key derivation', ['msk-rand', 'empty']),
  verification: obj('O16: verification message', {
    macVariant: enumOf('V MAC input (protocol §5.7)', ['rfc-ids-ts8', 'rfc-ids-ts4', 'ts8-only']),
    ext: bool('ACK carries the EXT payload'),
    idr: bool('ACK carries IDr'),
    timestamp: enumOf('ACK timestamp', ['echoed', 'fresh']),
  }),
  trigger: obj('O20: solicited-pull trigger shape', {
    zeroKeyIds: { type: 'array', uniqueItems: true, items: { enum: ['keyDomainId', 'mskId', 'mtkId'] }, description: 'Key IDs set to zero' },
    mtkId: bool('trigger carries an MTK ID'),
    kemac: enumOf('KEMAC with no key data, or no KEMAC', ['empty', 'absent']),
  }),
  algorithms: obj('KEMAC algorithms', {
    encr: enumOf('Encryption', ['AES-CM-128']),
    mac: enumOf('MAC', ['HMAC-SHA-1-160']),
  }),
});
