// Mutation fuzzing of the decoder (protocol §7.2 G-U8, §7.3): valid messages are bit-flipped, truncated,
// given lying lengths, re-chained (next-payload rewrites, loops, duplicated payloads) and padded, with a fixed
// seed. Every outcome must be a message or a MikeyDecodeError, never another exception; an accepted mutant
// re-encodes to the same octets; the walk always moves forward (so it cannot hang).
import { test, expect } from '@playwright/test';
import {
  buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger, buildVerificationMessage, decodeKeyData, decodeMikey,
  decodeMikeyLenient, encodeKeyData, encodeMikey, mikeyProfile, MikeyDecodeError, type MikeyMessage,
} from './index.ts';

/** mulberry32: small deterministic PRNG so that every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const h = (s: string) => Buffer.from(s, 'hex');
const MUK = Buffer.alloc(32, 0x11);
const MSK = Buffer.alloc(16, 0x22);
const RAND = Buffer.alloc(16, 0x33);

function corpus(): Buffer[] {
  const msk = buildMskMessage({ muk: MUK, csbId: 0x11223344, counter: 1, rand: RAND, keyDomainId: h('00f110'), mskId: 0x00010001, msk: MSK, v: true, idi: 'bmsc.example.com', idr: 'AbCdEf0123456789@bsf.example.com' });
  const streaming = mikeyProfile({ csIdMap: { type: 'srtp-id', srtpEntries: [{ policyNo: 0, ssrc: 0x1234, roc: 0 }, { policyNo: 0, ssrc: 0, roc: 0 }] }, payloads: { msk: { sp: true } }, keyData: { msk: { type: 'TGK', kv: 'interval' } } });
  const sp = buildMskMessage({
    muk: MUK, csbId: 7, counter: 9, rand: RAND, keyDomainId: h('00f110'), mskId: 2, msk: MSK, v: false, idi: 'a', idr: 'b', profile: streaming,
    kv: { type: 'interval', validFrom: h('0001'), validTo: h('00ff') }, sp: { policyNo: 0, params: [{ paramType: 0, value: h('01') }, { paramType: 11, value: h('0a') }] },
  });
  const mtk = buildMtkMessage({ msk: MSK, mskRand: RAND, csbId: 5, counter: 3, keyDomainId: h('00f110'), mskId: 0x00010001, mtkId: 7, mtk: MSK, salt: Buffer.alloc(14, 1) });
  const trigger = buildSolicitedPullTrigger({ muk: MUK, csbId: 8, counter: 4, rand: RAND, keyDomainId: h('00f110'), v: true, idi: 'x', idr: 'y' });
  const ack = buildVerificationMessage({ received: msk.bytes, psk: MUK, profile: mikeyProfile({ verification: { ext: true, idr: true } }) });
  const error: MikeyMessage = { hdr: { dataType: 6, v: false, csbId: 1 }, payloads: [{ type: 'T', tsType: 0, tsValue: 5n }, { type: 'ERR', errorNo: 0 }, { type: 'EXT', extType: 1, data: h('0102') }] };
  return [msk.bytes, sp.bytes, mtk.bytes, trigger.bytes, ack.bytes, encodeMikey(error)];
}

const CODES = [0, 1, 2, 5, 6, 9, 10, 11, 12, 13, 20, 21, 255];

function mutate(rand: () => number, input: Buffer): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const b = Buffer.from(input);
  switch (int(7)) {
    case 0: { // bit flips
      for (let i = 0, n = 1 + int(3); i < n; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 1: // truncation
      return b.subarray(0, int(b.length));
    case 2: { // length lies: a 1- or 2-octet field overwritten with an extreme or random value
      const at = int(b.length);
      const v = [0, 1, 0xff, 0xffff, 0x8000, int(0x10000)][int(6)];
      if (rand() < 0.5 || at + 1 >= b.length) b[at] = v & 0xff;
      else b.writeUInt16BE(v, at);
      return b;
    }
    case 3: { // next-payload rewrites, including codes of earlier payloads (chain loops)
      const m = decodeMikey(input);
      const nextAt = [2, ...m.payloads.map((p) => p.offset!)];
      b[nextAt[int(nextAt.length)]] = rand() < 0.8 ? CODES[int(CODES.length)] : int(256);
      return b;
    }
    case 4: // trailing garbage
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256)))]);
    case 5: { // a payload repeated (a loop unrolled into the octets)
      const m = decodeMikey(input);
      const i = int(m.payloads.length);
      const start = m.payloads[i].offset!;
      const end = m.payloads[i + 1]?.offset ?? input.length;
      return Buffer.concat([b.subarray(0, end), b.subarray(start, end), b.subarray(end)]);
    }
    default: { // a range deleted
      const at = int(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(6))]);
    }
  }
}

test('100,000 mutated messages: a message or MikeyDecodeError, never anything else', () => {
  const rand = prng(0x3830_4563);
  const seeds = corpus();
  let accepted = 0;
  let rejected = 0;
  const reasons = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const bytes = mutate(rand, seeds[i % seeds.length]);
    let message: MikeyMessage | undefined;
    let error: unknown;
    try {
      message = decodeMikey(bytes);
    } catch (e) {
      error = e;
    }
    if (message) {
      accepted++;
      // Forward progress: payload offsets strictly increase inside the message.
      let last = 0;
      for (const p of message.payloads) {
        if (!(p.offset! > last && p.offset! < bytes.length)) throw new Error(`payload offsets do not advance at iteration ${i}`);
        last = p.offset!;
      }
      if (!encodeMikey(message).equals(bytes)) throw new Error(`accepted mutant ${bytes.toString('hex')} does not re-encode`);
    } else {
      if (!(error instanceof MikeyDecodeError)) throw new Error(`iteration ${i}: ${String(error)} for ${bytes.toString('hex')}`);
      if (!(error.offset >= 0 && error.offset <= bytes.length)) throw new Error(`offset ${error.offset} outside the message`);
      rejected++;
      reasons.add(error.reason.replace(/\d+/g, 'N'));
    }
    const lenient = decodeMikeyLenient(bytes);
    if ((lenient.error?.offset ?? -1) !== (error instanceof MikeyDecodeError ? error.offset : -1)) {
      throw new Error(`lenient and strict disagree at iteration ${i}`);
    }
  }
  expect(accepted + rejected).toBe(100_000);
  // The mutations reach both outcomes and many distinct rules.
  expect(accepted).toBeGreaterThan(1000);
  expect(rejected).toBeGreaterThan(50_000);
  expect(reasons.size).toBeGreaterThan(15);
});

test('20,000 mutated key data plaintexts: key data or MikeyDecodeError', () => {
  const rand = prng(20);
  const plain = encodeKeyData([
    { kdType: 3, kv: 1, key: Buffer.alloc(16, 1), salt: Buffer.alloc(14, 2), spi: h('00010001') },
    { kdType: 0, kv: 2, key: Buffer.alloc(16, 3), validFrom: h('0001'), validTo: h('ffff') },
  ]);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(plain);
    for (let j = 0, n = 1 + Math.floor(rand() * 3); j < n; j++) {
      const at = Math.floor(rand() * bytes.length);
      bytes[at] = rand() < 0.5 ? bytes[at] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
    }
    const cut = rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
    try {
      const list = decodeKeyData(cut);
      if (!encodeKeyData(list).equals(cut)) throw new Error(`accepted key data ${cut.toString('hex')} does not re-encode`);
      accepted++;
    } catch (e) {
      if (!(e instanceof MikeyDecodeError)) throw e;
    }
  }
  expect(accepted).toBeGreaterThan(100);
});
