// The simulated UEs of a load run: each its own B-TID, Ks_NAF (= MUK, GBA_ME) and loopback address, so a
// BM-SC sees as many distinct users and MIKEY destinations as the run asks for (the whole 127.0.0.0/8 is
// loopback: UE i gets 127.64.0.0 + i, up to 4,194,304 UEs).
import { createHmac } from 'node:crypto';
import { defaultProfile, type MbmsProfile } from '../mbms/index.ts';

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
 * The profile of a load run against the embedded reference BM-SC: the §9 defaults, timers included (O18
 * retransmission every 2 s, three times; T_ack 2 s; HTTP 5 s), not the short timers of the loopback
 * conformance runs, and a CSB ID drawn per delivery (O10 'random-per-delivery', kept by its
 * retransmissions), so that a UE tells a copy of the delivery it acknowledged from the next delivery
 * exactly (RFC 3830 §6.1: the CSB ID names the exchange).
 *
 * The short timers make a conformance run fast; under load they measure the wrong thing. With a 150 ms
 * retransmission interval, an ACK the BM-SC reads 300 ms late (a busy event loop, a group push still
 * sending) brings two copies to its UE, which then reports an ACK the BM-SC did not take although it took
 * it; and a push to a whole group sent each message four times over. With HTTP keep-alive bounded at 2 s,
 * a UE coming back every 4 s (4,000 UEs at 1,000 a second) opened a new connection every time.
 */
export function embeddedLoadProfile(): MbmsProfile {
  const profile = defaultProfile();
  profile.mikey.csbId.msk = 'random-per-delivery';
  return profile;
}
