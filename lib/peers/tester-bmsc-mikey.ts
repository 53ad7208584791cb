// MIKEY messages of the tester BM-SC (protocol §1.2-§1.4, §4.10, §6): MSK messages under the UE's MUK,
// MTK messages under an MSK, solicited-pull triggers, built with the lib/mikey builders from the profile and
// then deliberately corrupted for the negative cases of protocol §7.2 (G-U1, G-U2, G-U4..G-U9, M-U1).
//
// The composer keeps what a BM-SC keeps: one COUNTER space per MUK (MSK messages and triggers) and one per
// MSK (MTK messages) (protocol §6.1), the MSKs it made with their RAND and the fixed CSB ID of their MTK
// messages (O10, O15: every UE must derive the same MTK-message keys), and the last MTK ID per MSK.

import { randomBytes, randomInt } from 'node:crypto';
import {
  EncrAlg, MacAlg, aesCm128, buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger,
  clearComputed, decodeMikey, encodeMikey, findPayload, kemacMac, timestampT64,
  type BuiltMessage, type MikeyMessage, type MikeyProfile,
} from '../mikey/index.ts';
import { keyDomainIdFromPlmn, mskKey, type MbmsProfile } from '../mbms/index.ts';
import { PeerArgumentError } from './errors.ts';

/** Corruptions of `send-mikey.corrupt` (docs/suite-format.md). */
export const MIKEY_CORRUPTIONS = [
  'none', 'bad-mac', 'flip-covered-octet', 'version-2', 'data-type-2', 'data-type-4', 'prf-1', 'unknown-payload-13',
  'length-overrun', 'trailing-garbage', 'null-encryption', 'null-mac', 'v-payload-in-initiator', 'sp-with-empty-map',
] as const;
export type MikeyCorruption = (typeof MIKEY_CORRUPTIONS)[number];

/** An MSK the tester BM-SC made (or invented for a negative case). */
export interface TesterMsk {
  keyDomainId: Buffer;
  mskId: number;
  /** 128-bit MSK (TGK, O12). */
  key: Buffer;
  /** RAND of every MSK message carrying this MSK: input of its MTK messages' key derivation (protocol §5.3, O15). */
  rand: Buffer;
  /** CSB ID of the MTK messages under this MSK (O10 fixed per MSK). */
  mtkCsbId: number;
  /** Last MTK ID sent under this MSK (0 = none yet). */
  lastMtkId: number;
}

/** How the TS COUNTER of a message is chosen (`send-mikey.counter`, references already resolved). */
export type CounterChoice =
  | { mode: 'next' }
  /** highest counter sent in the counter space + n (a jump; G-U3 uses 1000) */
  | { mode: 'plus'; n: number }
  | { mode: 'value'; value: number };

/** Which key protects the message (`send-mikey.key`). */
export type ProtectingKey = 'muk' | 'old-muk' | 'random' | 'msk' | 'deleted-msk';

export interface ComposeRequest {
  kind: 'msk' | 'mtk' | 'trigger';
  /** V flag; default: true for MSK messages and triggers (ask for a verification message), false for MTK messages. */
  v?: boolean;
  counter?: CounterChoice;
  /** Default: 'muk' for MSK messages and triggers, 'msk' for MTK messages. */
  key?: ProtectingKey;
  /** The MSK carried (kind msk) or protecting (kind mtk). Default: see `keyIds`. */
  msk?: TesterMsk;
  /**
   * kind msk: 'current' (default: `msk` or the current MSK of the first service), 'next' (a new MSK with the
   * next Key Number of the group), 'unknown-domain' (a Key Domain the UE does not know), 'unknown-msk' (an MSK
   * of a key group the UE never got); kind mtk: 'unknown-msk' makes an MSK the UE never got; kind trigger:
   * 'zero' (default).
   */
  keyIds?: 'next' | 'current' | 'zero' | 'unknown-domain' | 'unknown-msk';
  /** kind mtk: the MTK ID, default the MSK's last MTK ID + 1. */
  mtkId?: number;
  corrupt?: MikeyCorruption;
}

/** A composed message and everything later steps need to refer to it. */
export interface ComposedMikey {
  kind: 'msk' | 'mtk' | 'trigger';
  bytes: Buffer;
  /** The tree as encoded before byte-level corruptions. */
  message: MikeyMessage;
  /** Pre-shared key used (MUK for MSK messages and triggers, MSK for MTK messages): what an ACK is keyed from. */
  psk: Buffer;
  /** RAND of the key derivation. */
  rand: Buffer;
  csbId: number;
  counter: number;
  v: boolean;
  keyDomainId: Buffer;
  mskId: number;
  mtkId?: number;
  /** The MSK carried (msk) or protecting (mtk). */
  msk?: TesterMsk;
  corrupt: MikeyCorruption;
  /** Counter space the COUNTER belongs to: 'muk:<which>' or 'msk:<domain>/<id>'. */
  counterSpace: string;
}

export interface ComposerOptions {
  profile: MbmsProfile;
  /** The UE's MUK (Ks_NAF under GBA_ME, protocol §3.4). */
  muk: Buffer;
  /** A MUK the UE no longer uses (old B-TID's Ks_NAF), for G-U4; default: 32 random octets. */
  oldMuk?: Buffer;
  /** IDi (BM-SC identity, NAF FQDN) and IDr (the UE's B-TID) of MSK messages and triggers (protocol §4.5). */
  idi: string;
  idr: string;
  /** The services the UE takes part in: Key Domain ID and MSK IDs (the first one is "current"). */
  services: { keyDomainId: Buffer; mskIds: number[] }[];
  /** Highest COUNTER already used per MUK (0 for a fresh UE; a later value for a UE with persistent counters). */
  initialCounter?: number;
  /**
   * Highest COUNTER already used per counter space ('muk:current', 'msk:<domain hex>/<MSK ID hex>'), as
   * counters() returned it at the end of an earlier case: a UE that keeps its replay counters across cases
   * (protocol §6.1) must keep seeing fresh ones.
   */
  initialCounters?: Record<string, number>;
  /**
   * Highest Key Number used per key group ('<domain hex>/<group>'), as keyNumbers() returned it: a UE that keeps
   * its MSKs across cases gets the newest of them as "current" and really new ones as "next" (protocol §6.2).
   */
  initialKeyNumbers?: Record<string, number>;
}

/** Key Domain the UE under test is never configured for: PLMN 999/99 (a test network code, TS 23.003). */
export const UNKNOWN_KEY_DOMAIN = keyDomainIdFromPlmn('999', '99');
/** Key group no service uses (the tester invents MSKs of this group for missed-key cases). */
export const UNKNOWN_KEY_GROUP = 0x7e57;

const hex = (b: Buffer): string => b.toString('hex');

export class BmscMikeyComposer {
  readonly profile: MbmsProfile;
  readonly muk: Buffer;
  readonly oldMuk: Buffer;
  readonly options: ComposerOptions;
  /** Highest COUNTER sent per counter space. */
  readonly #counters = new Map<string, number>();
  readonly #msks = new Map<string, TesterMsk>();
  /** The current MSK per key group (`<domain>/<group>`). */
  readonly #current = new Map<string, TesterMsk>();
  /** Highest Key Number made per key group ('<domain hex>/<group>'), carried over from earlier cases. */
  readonly #keyNumbers = new Map<string, number>();

  constructor(options: ComposerOptions) {
    if (options.services.length === 0 || options.services[0]!.mskIds.length === 0) {
      throw new PeerArgumentError('tester BM-SC: at least one service with one MSK ID is needed to compose MSK messages');
    }
    this.options = options;
    this.profile = options.profile;
    this.muk = options.muk;
    this.oldMuk = options.oldMuk ?? randomBytes(32);
    for (const [space, value] of Object.entries(options.initialCounters ?? {})) {
      if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) this.#counters.set(space, value);
    }
    for (const [group, value] of Object.entries(options.initialKeyNumbers ?? {})) {
      if (Number.isInteger(value) && value > 0 && value <= 0xffff) this.#keyNumbers.set(group, value);
    }
    if (options.initialCounter !== undefined) this.#counters.set('muk:current', Math.max(options.initialCounter, this.counterOf('muk:current')));
  }

  get mikeyProfile(): MikeyProfile {
    return this.profile.mikey;
  }

  /** Highest COUNTER sent per counter space, to carry over to a later case against the same UE. */
  counters(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }

  /** Highest Key Number made per key group, to carry over to a later case against the same UE. */
  keyNumbers(): Record<string, number> {
    return Object.fromEntries(this.#keyNumbers);
  }

  /** Highest COUNTER sent in a counter space (0 when none). */
  counterOf(space: string): number {
    return this.#counters.get(space) ?? 0;
  }

  /** Key Domains the UE may legitimately ask MSKs of: its services' and those of every MSK the tester made. */
  knownKeyDomains(): Buffer[] {
    const all = [...this.options.services.map((s) => s.keyDomainId), ...[...this.#msks.values()].map((m) => m.keyDomainId)];
    return all.filter((d, i) => all.findIndex((x) => x.equals(d)) === i);
  }

  /** The MSK record of (domain, MSK ID), creating it (fresh key and RAND) on first use. */
  mskFor(keyDomainId: Buffer, mskId: number): TesterMsk {
    const id = mskKey(keyDomainId, mskId);
    let msk = this.#msks.get(id);
    if (!msk) {
      msk = { keyDomainId: Buffer.from(keyDomainId), mskId, key: randomBytes(16), rand: randomBytes(16), mtkCsbId: randomInt(1, 0xffffffff), lastMtkId: 0 };
      this.#msks.set(id, msk);
      const group = `${hex(keyDomainId)}/${mskId >>> 16}`;
      this.#keyNumbers.set(group, Math.max(this.#keyNumbers.get(group) ?? 0, mskId & 0xffff));
      const cur = this.#current.get(group);
      if (!cur || (cur.mskId & 0xffff) < (mskId & 0xffff)) this.#current.set(group, msk);
    }
    return msk;
  }

  /** The current MSK of the first service's key group (the MSK the UE joined). */
  currentMsk(keyDomainId?: Buffer, mskId?: number): TesterMsk {
    const service = this.options.services[0]!;
    const domain = keyDomainId ?? service.keyDomainId;
    const id = mskId ?? service.mskIds[0]!;
    const group = `${hex(domain)}/${id >>> 16}`;
    const existing = this.#current.get(group);
    if (existing) return existing;
    // The newest MSK of the group made in an earlier case is what the UE holds as current.
    const carried = this.#keyNumbers.get(group) ?? 0;
    return this.mskFor(domain, carried > (id & 0xffff) ? (((id >>> 16) << 16) | carried) >>> 0 : id);
  }

  /** A new MSK in the same key group as `of` with the next Key Number (protocol §6.2). */
  nextMsk(of?: TesterMsk): TesterMsk {
    const base = of ?? this.currentMsk();
    const group = base.mskId >>> 16;
    let number = Math.max(base.mskId & 0xffff, this.#keyNumbers.get(`${hex(base.keyDomainId)}/${group}`) ?? 0) + 1;
    while (this.#msks.has(mskKey(base.keyDomainId, ((group << 16) | number) >>> 0))) number += 1;
    if (number > 0xffff) throw new PeerArgumentError('tester BM-SC: key numbers of the group are exhausted');
    return this.mskFor(base.keyDomainId, ((group << 16) | number) >>> 0);
  }

  /** An MSK the UE never received: a key group no service uses. */
  unknownMsk(keyDomainId?: Buffer): TesterMsk {
    const domain = keyDomainId ?? this.options.services[0]!.keyDomainId;
    const number = (this.#keyNumbers.get(`${hex(domain)}/${UNKNOWN_KEY_GROUP}`) ?? 0) + 1;
    return this.mskFor(domain, ((UNKNOWN_KEY_GROUP << 16) | number) >>> 0);
  }

  #nextCounter(space: string, choice: CounterChoice): number {
    const highest = this.counterOf(space);
    const value = choice.mode === 'next' ? highest + 1 : choice.mode === 'plus' ? highest + choice.n : choice.value;
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new PeerArgumentError(`tester BM-SC: COUNTER ${value} is outside 0..2^32-1 (protocol §6.1: wrap unsupported)`);
    }
    if (value > highest) this.#counters.set(space, value);
    return value;
  }

  /** Builds one message per the request; the caller sends it. */
  compose(request: ComposeRequest): ComposedMikey {
    const corrupt = request.corrupt ?? 'none';
    const profile = this.profile.mikey;
    const counterChoice = request.counter ?? { mode: 'next' };
    if (request.kind === 'mtk') {
      const keyIds = request.keyIds ?? 'current';
      const msk = keyIds === 'unknown-msk' ? this.unknownMsk() : (request.msk ?? this.currentMsk());
      const key = this.#pskFor(request.key ?? 'msk', 'mtk', msk);
      const mtkId = request.mtkId ?? msk.lastMtkId + 1;
      if (mtkId > msk.lastMtkId) msk.lastMtkId = mtkId;
      const space = `msk:${mskKey(msk.keyDomainId, msk.mskId)}`;
      const counter = this.#nextCounter(space, counterChoice);
      const csbId = profile.csbId.mtk === 'fixed-per-msk' ? msk.mtkCsbId : randomInt(1, 0xffffffff);
      const v = request.v ?? false;
      const built = buildMtkMessage({
        msk: key, mskRand: msk.rand, csbId, counter, keyDomainId: msk.keyDomainId, mskId: msk.mskId, mtkId,
        mtk: randomBytes(16), v, idi: this.options.idi, idr: this.options.idr, profile,
      });
      const rand = profile.mtkRandSource === 'empty' ? Buffer.alloc(0) : msk.rand;
      return {
        kind: 'mtk', bytes: applyCorruption(built, corrupt, profile), message: built.message, psk: key, rand, csbId, counter, v,
        keyDomainId: msk.keyDomainId, mskId: msk.mskId, mtkId, msk, corrupt, counterSpace: space,
      };
    }
    const mukChoice = request.key ?? 'muk';
    // Every message to the UE draws from the counter of the MUK the UE holds, whatever key protects it: the
    // UE checks the counter against its state for that MUK before the MAC (RFC 3830 §5.3). A message under
    // another MUK therefore carries a counter the UE would accept, so the case tests the MAC, not a replay.
    const space = 'muk:current';
    const key = this.#pskFor(mukChoice, request.kind);
    const csbId = randomInt(1, 0xffffffff);
    const v = request.v ?? true;
    if (request.kind === 'trigger') {
      const counter = this.#nextCounter(space, counterChoice);
      const domain = request.keyIds === 'unknown-domain' ? UNKNOWN_KEY_DOMAIN : this.options.services[0]!.keyDomainId;
      const rand = randomBytes(16);
      const built = buildSolicitedPullTrigger({
        muk: key, csbId, counter, rand, keyDomainId: domain, v, idi: this.options.idi, idr: this.options.idr, profile,
      });
      return {
        kind: 'trigger', bytes: applyCorruption(built, corrupt, profile), message: built.message, psk: key, rand, csbId, counter, v,
        keyDomainId: domain, mskId: 0, corrupt, counterSpace: space,
      };
    }
    const keyIds = request.keyIds ?? 'current';
    let msk: TesterMsk;
    if (keyIds === 'next') msk = this.nextMsk(request.msk);
    else if (keyIds === 'unknown-domain') msk = this.mskFor(UNKNOWN_KEY_DOMAIN, (request.msk ?? this.currentMsk()).mskId);
    else if (keyIds === 'unknown-msk') msk = this.unknownMsk();
    else if (keyIds === 'zero') throw new PeerArgumentError("tester BM-SC: keyIds 'zero' makes a trigger, use kind: trigger");
    else msk = request.msk ?? this.currentMsk();
    const counter = this.#nextCounter(space, counterChoice);
    const built = buildMskMessage({
      muk: key, csbId, counter, rand: msk.rand, keyDomainId: msk.keyDomainId, mskId: msk.mskId, msk: msk.key, v,
      idi: this.options.idi, idr: this.options.idr, profile,
    });
    return {
      kind: 'msk', bytes: applyCorruption(built, corrupt, profile), message: built.message, psk: key, rand: msk.rand, csbId, counter, v,
      keyDomainId: msk.keyDomainId, mskId: msk.mskId, msk, corrupt, counterSpace: space,
    };
  }

  #pskFor(choice: ProtectingKey, kind: 'msk' | 'mtk' | 'trigger', msk?: TesterMsk): Buffer {
    switch (choice) {
      case 'muk': return this.muk;
      case 'old-muk': return this.oldMuk;
      case 'random': return randomBytes(kind === 'mtk' ? 16 : this.muk.length);
      case 'msk':
      case 'deleted-msk':
        if (kind !== 'mtk' || !msk) throw new PeerArgumentError(`tester BM-SC: key '${choice}' protects MTK messages only (protocol §1.4)`);
        return msk.key;
    }
  }
}

/** Offset of the first payload of a type in encoded octets (from a strict decode of the uncorrupted bytes). */
function payloadOffset(bytes: Buffer, type: string): number {
  const msg = decodeMikey(bytes);
  const p = msg.payloads.find((x) => x.type === type);
  if (!p || p.offset === undefined) throw new PeerArgumentError(`tester BM-SC: no ${type} payload to corrupt`);
  return p.offset;
}

/**
 * Applies one corruption. bad-mac and flip-covered-octet break only the MAC (G-U1). The structural ones
 * (G-U8) keep a MAC that verifies over the altered octets wherever the message still has one, so a UE can
 * discard them only for their structure, not for an authentication failure that would hide a lax parser.
 */
export function applyCorruption(built: BuiltMessage, corrupt: MikeyCorruption, profile: MikeyProfile): Buffer {
  const bytes = Buffer.from(built.bytes);
  const authKey = built.keys.authKey;
  const hasMac = (findPayload(built.message, 'KEMAC')?.macAlg ?? MacAlg.HMAC_SHA1_160) === MacAlg.HMAC_SHA1_160 && findPayload(built.message, 'KEMAC') !== undefined;
  // RFC 3830 §5.2: MAC over every octet up to the MAC field, which ends a PSK message (KEMAC is last).
  const remac = (b: Buffer): Buffer => {
    if (!hasMac) return b;
    const mac = kemacMac(authKey, b.subarray(0, b.length - 20));
    mac.copy(b, b.length - 20);
    return b;
  };
  const reencode = (edit: (m: MikeyMessage) => void): Buffer => {
    const tree = clearComputed(decodeMikey(built.bytes));
    edit(tree);
    const kemac = findPayload(tree, 'KEMAC');
    if (kemac) delete kemac.mac;
    return encodeMikey(tree, { authKey });
  };
  switch (corrupt) {
    case 'none':
      return bytes;
    case 'bad-mac':
      if (!hasMac) throw new PeerArgumentError('tester BM-SC: bad-mac needs a KEMAC with a MAC');
      bytes[bytes.length - 1] ^= 0x01;
      return bytes;
    case 'flip-covered-octet': {
      // The last octet of the EXT payload (the last Key ID), covered by the MAC; the MAC is left as it was.
      const ext = payloadOffset(built.bytes, 'EXT');
      const length = bytes.readUInt16BE(ext + 2);
      bytes[ext + 4 + length - 1] ^= 0x01;
      return bytes;
    }
    case 'version-2':
      bytes[0] = 2;
      return remac(bytes);
    case 'data-type-2':
      bytes[1] = 2;
      return remac(bytes);
    case 'data-type-4':
      bytes[1] = 4;
      return remac(bytes);
    case 'prf-1':
      bytes[3] = (bytes[3]! & 0x80) | 0x01;
      return remac(bytes);
    case 'unknown-payload-13': {
      // The first payload's next-payload octet names code 13, which RFC 3830 Table 6.1.b does not assign;
      // a parser cannot know its length, so the rest of the chain cannot be walked (protocol §4).
      const first = payloadOffset(built.bytes, decodeMikey(built.bytes).payloads[0]!.type);
      bytes[first] = 13;
      return remac(bytes);
    }
    case 'length-overrun': {
      // EXT length (2 octets at EXT+2) larger than what is left of the datagram.
      const ext = payloadOffset(built.bytes, 'EXT');
      bytes.writeUInt16BE(Math.min(0xffff, bytes.length), ext + 2);
      return remac(bytes);
    }
    case 'trailing-garbage':
      return Buffer.concat([bytes, Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
    case 'null-encryption':
      // KEMAC encryption NULL: the key data in clear (RFC 3830 §4.2.3), MAC recomputed (protocol §4.7).
      return reencode((m) => {
        const kemac = findPayload(m, 'KEMAC');
        const t = findPayload(m, 'T');
        if (!kemac || !t) throw new PeerArgumentError('tester BM-SC: null-encryption needs KEMAC and T');
        kemac.encrData = aesCm128(built.keys.encrKey, built.keys.saltKey, m.hdr.csbId, timestampT64(t.tsType, t.tsValue, profile.ivCounterPadding), kemac.encrData);
        kemac.encrAlg = EncrAlg.NULL;
      });
    case 'null-mac':
      return reencode((m) => {
        const kemac = findPayload(m, 'KEMAC');
        if (!kemac) throw new PeerArgumentError('tester BM-SC: null-mac needs a KEMAC');
        kemac.macAlg = MacAlg.NULL;
      });
    case 'v-payload-in-initiator':
      // A V payload (data type 1 messages only, RFC 3830 §3.1) before the KEMAC of an initiator message.
      return reencode((m) => {
        m.payloads.splice(m.payloads.length - 1, 0, { type: 'V', authAlg: MacAlg.HMAC_SHA1_160, mac: Buffer.alloc(20, 0x5a) });
      });
    case 'sp-with-empty-map':
      // RFC 4563 §5: with the Empty map no SP payload may appear.
      return reencode((m) => {
        m.hdr.csIdMapType = 1;
        delete m.hdr.csIdMap;
        m.hdr.numCs = 0;
        m.payloads.splice(m.payloads.length - 1, 0, { type: 'SP', policyNo: 0, protType: 0, params: [] });
      });
  }
}

