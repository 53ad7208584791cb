// The simulated UEs of a load run: each its own B-TID, Ks_NAF (= MUK, GBA_ME) and loopback address, so a
// BM-SC sees as many distinct users and MIKEY destinations as the run asks for (the whole 127.0.0.0/8 is
// loopback: UE i gets 127.64.0.0 + i, up to 4,194,304 UEs).
import { createHmac } from 'node:crypto';
import { defaultProfile, referenceProfile, type MbmsProfile } from '../mbms/index.ts';

export interface LoadUeIdentity {
  index: number;
  btid: string;
  /** Ks_NAF, also the MUK (GBA_ME, TS 33.246 §6.1). */
  ksNaf: Buffer;
  /** Source address of its HTTP requests and address of its MIKEY socket. */
  address: string;
}

/** First address of the population: 127.64.0.0 (clear of 127.0.0.1, where the references listen). */
const BASE = (127 << 24) | (64 << 16);
export const MAX_UES = (1 << 22);

/** UE `index` of a population; keys derived from `seed` so that several processes agree on them. */
export function loadUe(index: number, seed: string): LoadUeIdentity {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_UES) throw new RangeError(`UE index ${index} outside 0..${MAX_UES - 1}`);
  const a = (BASE + index) >>> 0;
  return {
    index,
    btid: `load-${index}@bsf.load.example.com`,
    ksNaf: createHmac('sha256', seed).update(`ks-naf ${index}`).digest(),
    address: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`,
  };
}

export function population(count: number, seed: string, first = 0): LoadUeIdentity[] {
  return Array.from({ length: count }, (_, i) => loadUe(first + i, seed));
}

/**
 * The profile of a load run against the embedded reference BM-SC: the reference's short timers, and a CSB
 * ID drawn per delivery (O10 'random-per-delivery', kept by its retransmissions), so that a UE tells a copy
 * of the delivery it acknowledged from the next delivery exactly (RFC 3830 §6.1: the CSB ID names the
 * exchange). With CSB IDs drawn per message a copy can only be told by its MSK ID and timing.
 *
 * A push to a whole group (`group: true`) keeps the retransmission interval of the §9 defaults (O18: 2 s):
 * with the reference's 150 ms, an ACK read later than that while the BM-SC is still sending to the rest
 * of the group brings a copy to every UE, and the push sends each message four times over.
 */
export function embeddedLoadProfile(options: { group?: boolean } = {}): MbmsProfile {
  const profile = referenceProfile();
  profile.mikey.csbId.msk = 'random-per-delivery';
  if (options.group) profile.retransmission = defaultProfile().retransmission;
  return profile;
}
