// MIKEY options of the 33.246 profile: every open point of reference §9 that touches MIKEY, with the §9
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
  /** O9: payload set per message type (order follows reference §4.10). */
  payloads: {
    msk: { idi: boolean; idr: boolean; sp: boolean };
    mtk: { rand: boolean; idi: boolean; idr: boolean };
  };
  /** O10: CSB ID semantics (random per MSK message; fixed per MSK for its MTK messages). */
  csbId: { msk: 'random-per-message' | 'fixed-per-muk'; mtk: 'fixed-per-msk' | 'random-per-message' };
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
  /** Algorithms of KEMAC (reference §4.7: NULL must be rejected). */
  algorithms: { encr: 'AES-CM-128'; mac: 'HMAC-SHA-1-160' };
}

/** Reference §9 defaults. */
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
