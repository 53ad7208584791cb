// Codec behaviour: byte layouts of every payload (RFC 3830 §6, RFC 4563), property round trips at boundary
// lengths (protocol §7.3 G-C1), strict-decode rules with offset and reason (§6.3, G-C3), lenient decoding.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import {
  decodeKeyData, decodeMikey, decodeMikeyLenient, describeMikey, encodeKeyData, encodeMikey, mikeyToJSON,
  MikeyDecodeError, MikeyEncodeError, clearComputed, type KeyData, type MikeyMessage, type Payload, type Hdr,
} from './index.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const V3 = h(`010015801122334400010503000b000300f1100104000100010b02000000010610a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
06010010626d73632e6578616d706c652e636f6d0101002041624364456630313233343536373839406273662e6578616d70
6c652e636f6d0001001459e3637f7e9624d7cf07a448ffbc6f8bcf984c9701eceace3d2ee6095d7a76b164f279ef6bfefadcbd`);

// ---- byte layouts written out by hand from RFC 3830 §6 ----------------------------------------------------

test('HDR with an SRTP-ID map: #CS and 9-octet entries (RFC 3830 §6.1.1)', () => {
  const msg: MikeyMessage = {
    hdr: { dataType: 0, v: false, csbId: 0xdeadbeef, csIdMapType: 0, csIdMap: [{ policyNo: 1, ssrc: 0x01020304, roc: 5 }, { policyNo: 2, ssrc: 0, roc: 0 }] },
    payloads: [{ type: 'ERR', errorNo: 12 }],
  };
  const bytes = encodeMikey(msg);
  expect(bytes.toString('hex')).toBe('01000c00deadbeef0200' + '010102030400000005' + '020000000000000000' + '000c0000');
  expect(decodeMikey(bytes).hdr.csIdMap).toEqual([{ policyNo: 1, ssrc: 0x01020304, roc: 5 }, { policyNo: 2, ssrc: 0, roc: 0 }]);
});

test('SP, V, ERR, NTP timestamp and a raw EXT type', () => {
  const msg: MikeyMessage = {
    hdr: { dataType: 6, v: false, csbId: 1 },
    payloads: [
      { type: 'T', tsType: 0, tsValue: 0x0102030405060708n },
      { type: 'ERR', errorNo: 1 },
      { type: 'EXT', extType: 0, data: h('aabbcc') },
      { type: 'SP', policyNo: 7, params: [{ paramType: 0, value: h('01') }, { paramType: 11, value: h('0a') }] },
      { type: 'V', authAlg: 1, mac: Buffer.alloc(20, 0x55) },
    ],
  };
  const bytes = encodeMikey(msg);
  expect(bytes.toString('hex')).toBe(
    '010605000000000100' + '01'
    + '0c' + '00' + '0102030405060708'
    + '15' + '01' + '0000'
    + '0a' + '00' + '0003' + 'aabbcc'
    + '09' + '07' + '00' + '0006' + '000101' + '0b010a'
    + '00' + '01' + '55'.repeat(20));
  const back = decodeMikey(bytes);
  expect(back.payloads.map((p) => [p.type, p.offset])).toEqual([['T', 10], ['ERR', 20], ['EXT', 24], ['SP', 31], ['V', 42]]);
  expect(back).toMatchObject(msg as unknown as Record<string, unknown>);
});

test('key data with salt, SPI and interval (RFC 3830 §6.13, §6.14)', () => {
  const list: KeyData[] = [
    { kdType: 3, kv: 1, key: h('1111'), salt: h('2222'), spi: h('abcdef') },
    { kdType: 1, kv: 2, key: h('33'), salt: Buffer.alloc(0), validFrom: h('0001'), validTo: h('00ff') },
    { kdType: 2, kv: 0, key: Buffer.alloc(0) },
  ];
  const bytes = encodeKeyData(list);
  expect(bytes.toString('hex')).toBe(
    '14' + '31' + '0002' + '1111' + '0002' + '2222' + '03' + 'abcdef'
    + '14' + '12' + '0001' + '33' + '0000' + '02' + '0001' + '02' + '00ff'
    + '00' + '20' + '0000');
  expect(decodeKeyData(bytes)).toMatchObject(list);
  expect(decodeKeyData(Buffer.alloc(0))).toEqual([]);
});

test('explicit computed fields override the computed ones (negative-test messages)', () => {
  const msg: MikeyMessage = {
    hdr: { dataType: 0, v: false, csbId: 1, next: 99, numCs: 3 },
    payloads: [{ type: 'RAND', rand: h('0102'), length: 9, next: 1 }, { type: 'KEMAC', encrData: h('00'), mac: h('ff') }],
  };
  const bytes = encodeMikey(msg);
  expect(bytes.toString('hex')).toBe('010063000000000103' + '01' + '01' + '09' + '0102' + '00' + '01' + '0001' + '00' + '01' + 'ff');
  expect(() => encodeMikey({ hdr: msg.hdr, payloads: [{ type: 'KEMAC', encrData: h('00') }] })).toThrow(MikeyEncodeError);
  expect(() => encodeMikey({ hdr: { dataType: 0, v: false, csbId: 2 ** 32 }, payloads: [] })).toThrow(/does not fit 4 octet/);
});

test('describeMikey and mikeyToJSON name every field from the table', () => {
  const m = decodeMikey(V3);
  const text = describeMikey(m);
  for (const s of ['CSB ID: 0x11223344', 'CS ID map type: 1 (Empty map)', 'Key ID Type: 1 (MSK ID)', 'TS type: 2 (COUNTER)',
    'RAND len: 16', 'ID data: "bmsc.example.com"', 'Encr alg: 1 (AES-CM-128)', 'MAC alg: 1 (HMAC-SHA-1-160)']) {
    expect(text).toContain(s);
  }
  const j = mikeyToJSON(m);
  expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  expect(j.payloads[1]).toEqual({ type: 'T', offset: 25, next: 11, tsType: 2, tsValue: 1 });
  expect(j.payloads[5]).toMatchObject({ type: 'KEMAC', encrData: '59e3637f7e9624d7cf07a448ffbc6f8bcf984c97' });
});

// ---- property round trips (G-C1) --------------------------------------------------------------------------

const buf = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const lenBoundary = (lengths: number[], maxRandom: number) =>
  fc.oneof(fc.constantFrom(...lengths).map((n) => Buffer.alloc(n, 0xa5)), buf(0, maxRandom));

const hdrArb: fc.Arbitrary<Hdr> = fc.oneof(
  fc.record({
    dataType: fc.integer({ min: 0, max: 6 }), v: fc.boolean(), prf: fc.integer({ min: 0, max: 127 }), csbId: fc.nat({ max: 0xffffffff }),
    csIdMapType: fc.constant(1), numCs: fc.constantFrom(0, 1, 255),
  }),
  fc.record({
    dataType: fc.integer({ min: 0, max: 6 }), v: fc.boolean(), prf: fc.constant(0), csbId: fc.nat({ max: 0xffffffff }),
    csIdMapType: fc.constant(0),
    csIdMap: fc.oneof(
      fc.array(fc.record({ policyNo: fc.nat({ max: 255 }), ssrc: fc.nat({ max: 0xffffffff }), roc: fc.nat({ max: 0xffffffff }) }), { maxLength: 4 }),
      fc.constant(Array.from({ length: 255 }, (_, i) => ({ policyNo: i, ssrc: i * 7, roc: 0 }))),
    ),
  }),
);

const payloadArb: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({
    type: fc.constant('EXT' as const), extType: fc.constant(3),
    keyIds: fc.array(fc.record({ idType: fc.nat({ max: 255 }), value: lenBoundary([0, 3, 4, 255], 8) }), { maxLength: 6 }),
  }),
  fc.record({ type: fc.constant('EXT' as const), extType: fc.constantFrom(0, 1, 241, 255), data: lenBoundary([0, 1000], 16) }),
  fc.oneof(
    fc.record({ type: fc.constant('T' as const), tsType: fc.constant(2), tsValue: fc.bigInt({ min: 0n, max: 0xffffffffn }) }),
    fc.record({ type: fc.constant('T' as const), tsType: fc.constantFrom(0, 1), tsValue: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  ),
  fc.record({ type: fc.constant('RAND' as const), rand: lenBoundary([0, 16, 255], 32) }),
  fc.record({ type: fc.constant('ID' as const), idType: fc.constantFrom(0, 1), id: lenBoundary([0, 65535], 40) }),
  fc.record({
    type: fc.constant('SP' as const), policyNo: fc.nat({ max: 255 }), protType: fc.constantFrom(0, 3),
    params: fc.array(fc.record({ paramType: fc.nat({ max: 12 }), value: buf(0, 4) }), { maxLength: 5 }),
  }),
  fc.oneof(
    fc.record({ type: fc.constant('KEMAC' as const), encrAlg: fc.constantFrom(0, 1, 2), encrData: lenBoundary([0, 65535], 48), macAlg: fc.constant(1), mac: buf(20, 20) }),
    fc.record({ type: fc.constant('KEMAC' as const), encrAlg: fc.constantFrom(0, 1), encrData: buf(0, 8), macAlg: fc.constant(0), mac: fc.constant(Buffer.alloc(0)) }),
  ),
  fc.oneof(
    fc.record({ type: fc.constant('V' as const), authAlg: fc.constant(1), mac: buf(20, 20) }),
    fc.record({ type: fc.constant('V' as const), authAlg: fc.constant(0), mac: fc.constant(Buffer.alloc(0)) }),
  ),
  fc.record({ type: fc.constant('ERR' as const), errorNo: fc.nat({ max: 12 }), reserved: fc.nat({ max: 0xffff }) }),
);

/** Encoded size per the protocol §4.10 parser-length table, independent of the codec. */
function expectedSize(p: Payload): number {
  switch (p.type) {
    case 'EXT': return 4 + (p.keyIds ? p.keyIds.reduce((n, k) => n + 2 + k.value.length, 0) : p.data!.length);
    case 'T': return p.tsType === 2 ? 6 : 10;
    case 'RAND': return 2 + p.rand.length;
    case 'ID': return 4 + p.id.length;
    case 'SP': return 5 + p.params.reduce((n, x) => n + 2 + x.value.length, 0);
    case 'KEMAC': return 4 + p.encrData.length + 1 + (p.macAlg === 1 ? 20 : 0);
    case 'V': return 2 + (p.authAlg === 1 ? 20 : 0);
    case 'ERR': return 4;
  }
}

test('every payload round-trips at boundary lengths; sizes match the parser-length table', () => {
  fc.assert(fc.property(hdrArb, fc.array(payloadArb, { maxLength: 6 }), (hdr, payloads) => {
    const msg: MikeyMessage = { hdr, payloads };
    const hdrSize = 10 + (hdr.csIdMapType === 0 ? 9 * hdr.csIdMap!.length : 0);
    let offset = hdrSize;
    const offsets = payloads.map((p) => { const at = offset; offset += expectedSize(p); return at; });
    // Fields at their own maximum can add up to more than one UDP datagram: the encoder refuses those.
    if (offset > 65_527) {
      expect(() => encodeMikey(msg)).toThrow(/larger than a UDP datagram can carry/);
      return;
    }
    const bytes = encodeMikey(msg);
    expect(bytes.length).toBe(offset);
    const back = decodeMikey(bytes);
    expect(back).toMatchObject(msg as unknown as Record<string, unknown>);
    expect(back.payloads.map((p) => p.offset)).toEqual(offsets);
    expect(back.hdr.numCs).toBe(hdr.csIdMapType === 0 ? hdr.csIdMap!.length : hdr.numCs);
    // Chaining: HDR names the first payload, each payload names the next, the last says 0.
    const codes: Record<string, number> = { EXT: 21, T: 5, RAND: 11, ID: 6, SP: 10, KEMAC: 1, V: 9, ERR: 12 };
    expect([back.hdr.next, ...back.payloads.map((p) => p.next)]).toEqual([...payloads.map((p) => codes[p.type]), 0]);
    expect(encodeMikey(back).equals(bytes)).toBe(true);
    // Without the values as read, the encoder recomputes the same octets (MACs aside, which need a key).
    if (!payloads.some((p) => p.type === 'KEMAC' && p.macAlg === 1)) {
      expect(encodeMikey(clearComputed(back)).equals(bytes)).toBe(hdr.csIdMapType === 0 || hdr.numCs === 0);
    }
  }), { numRuns: 400, seed: 3830 });
});

const keyDataArb: fc.Arbitrary<KeyData> = fc.oneof(
  fc.record({ kdType: fc.constantFrom(0, 2), kv: fc.constant(0), key: lenBoundary([0, 16, 65535], 32) }),
  fc.record({ kdType: fc.constantFrom(1, 3), kv: fc.constant(0), key: buf(0, 32), salt: lenBoundary([0, 14, 65535], 16) }),
  fc.record({ kdType: fc.constantFrom(0, 1, 2, 3), kv: fc.constant(1), key: buf(0, 32), salt: buf(0, 14), spi: lenBoundary([0, 4, 255], 6) }),
  fc.record({ kdType: fc.constantFrom(0, 2), kv: fc.constant(2), key: buf(16, 16), validFrom: lenBoundary([0, 6, 255], 6), validTo: buf(0, 6) }),
).map((kd): KeyData => {
  // Salt only with the +SALT types (RFC 3830 §6.13), where it is always present.
  const { salt, ...rest } = kd as KeyData;
  return kd.kdType === 1 || kd.kdType === 3 ? { ...rest, salt: salt ?? Buffer.alloc(0) } : rest;
});

test('key data round-trips with salt, SPI/MKI and interval; chain of several sub-payloads', () => {
  fc.assert(fc.property(fc.array(keyDataArb, { minLength: 1, maxLength: 4 }), (list) => {
    const bytes = encodeKeyData(list);
    const size = list.reduce((n, kd) => n + 4 + kd.key.length + (kd.salt ? 2 + kd.salt.length : 0)
      + (kd.kv === 1 ? 1 + kd.spi!.length : 0) + (kd.kv === 2 ? 2 + kd.validFrom!.length + kd.validTo!.length : 0), 0);
    expect(bytes.length).toBe(size);
    if (size > 65_527) {
      expect(() => decodeKeyData(bytes)).toThrow(/larger than a UDP datagram can carry/);
      return;
    }
    const back = decodeKeyData(bytes);
    expect(back).toMatchObject(list);
    expect(back.map((k) => k.next)).toEqual(list.map((_, i) => (i < list.length - 1 ? 20 : 0)));
    expect(encodeKeyData(back).equals(bytes)).toBe(true);
  }), { numRuns: 300, seed: 4563 });
});

// ---- strict decoding: one test per rule, asserting offset and reason ----------------------------------------

function decodeError(bytes: Buffer, decode: (b: Buffer) => unknown = decodeMikey): MikeyDecodeError {
  try {
    decode(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(MikeyDecodeError);
    const err = e as MikeyDecodeError;
    expect(err.code).toBe('ERR_MIKEY_DECODE');
    expect(err.message).toContain(`offset ${err.offset}`);
    return err;
  }
  throw new Error('decode accepted the message');
}

const patched = (at: number, hex: string, base = V3) => {
  const b = Buffer.from(base);
  h(hex).copy(b, at);
  return b;
};

test('bad version is rejected at offset 0', () => {
  expect(decodeError(patched(0, '02'))).toMatchObject({ offset: 0, payload: 'HDR', reason: 'unsupported version 2' });
});

test('unknown and unsupported payload types are rejected where the payload would start', () => {
  // T (offset 25) names payload 13 as its successor: RAND at 31 becomes an unknown payload.
  const unknown = decodeError(patched(25, '0d'));
  expect(unknown).toMatchObject({ offset: 31, payload: 'payload 13' });
  expect(unknown.reason).toMatch(/^unknown payload type 13, named by the next payload field of T at offset 25/);
  expect(decodeError(patched(25, '02'))).toMatchObject({ offset: 31, payload: 'PKE' });
  expect(decodeError(patched(2, '14')).reason).toMatch(/unsupported payload type 20 \(Key data\)/);
});

test('a truncated message is rejected at the field that runs out', () => {
  expect(decodeError(V3.subarray(0, 140))).toMatchObject({ offset: 130, payload: 'KEMAC', reason: 'truncated: MAC needs 20 octets, 10 remain' });
  expect(decodeError(V3.subarray(0, 6))).toMatchObject({ offset: 4, payload: 'HDR' });
  expect(decodeError(V3.subarray(0, 27))).toMatchObject({ offset: 27, payload: 'T', reason: 'truncated: TS value needs 4 octets, 0 remain' });
});

test('an over-long length is rejected at the offset of the length field', () => {
  expect(decodeError(patched(51, '0100'))).toMatchObject({ offset: 51, payload: 'ID', reason: 'ID data: length 256 exceeds the 97 octets that remain' });
  expect(decodeError(patched(32, 'ff'))).toMatchObject({ offset: 32, payload: 'RAND' });
  expect(decodeError(patched(107, '0100'))).toMatchObject({ offset: 107, payload: 'KEMAC', reason: 'Encr data: length 256 exceeds the 41 octets that remain' });
  // A Key ID sub-payload may not run past its EXT payload's length.
  expect(decodeError(patched(20, '09'))).toMatchObject({ offset: 20, payload: 'KEY-ID', reason: 'Key ID: length 9 exceeds the 4 octets that remain' });
  expect(decodeError(patched(12, 'ffff'))).toMatchObject({ offset: 12, payload: 'EXT' });
});

test('trailing octets after the last payload are rejected at their offset', () => {
  expect(decodeError(Buffer.concat([V3, h('0000')]))).toMatchObject({ offset: 150, payload: 'trailing', reason: '2 trailing octet(s) after the last payload' });
});

test('a chain that does not end is rejected at the end of the message', () => {
  const err = decodeError(patched(105, '05'));
  expect(err).toMatchObject({ offset: 150, payload: 'chain' });
  expect(err.reason).toMatch(/chain does not end: KEMAC at offset 105 names T/);
});

test('unknown code points that hide a payload length are rejected at their field', () => {
  expect(decodeError(patched(26, '07'))).toMatchObject({ offset: 26, payload: 'T', reason: 'unknown TS type 7' });
  expect(decodeError(patched(129, '05'))).toMatchObject({ offset: 129, payload: 'KEMAC', reason: 'unknown MAC alg 5' });
  expect(decodeError(patched(9, '02'))).toMatchObject({ offset: 9, payload: 'HDR', reason: 'unknown CS ID map type 2' });
});

test('key data rules: lengths inside the plaintext, chain ends with 0, no trailing octets (G-C3)', () => {
  const plain = h('00 00 0010 2b7e151628aed2a6abf7158809cf4f3c');
  expect(decodeError(patched(2, '0011', plain), (b) => decodeKeyData(b))).toMatchObject({ offset: 2, payload: 'KEY-DATA' });
  expect(decodeError(patched(0, '14', plain), (b) => decodeKeyData(b))).toMatchObject({ offset: 20, payload: 'chain' });
  expect(decodeError(patched(0, '05', plain), (b) => decodeKeyData(b)).reason).toMatch(/next payload 5 inside KEMAC/);
  expect(decodeError(Buffer.concat([plain, h('00')]), (b) => decodeKeyData(b))).toMatchObject({ offset: 20, payload: 'trailing' });
  expect(decodeError(patched(1, '40', plain), (b) => decodeKeyData(b))).toMatchObject({ offset: 1, reason: 'unknown key data type 4' });
  expect(decodeError(patched(1, '03', plain), (b) => decodeKeyData(b))).toMatchObject({ offset: 1, reason: 'unknown KV type 3' });
  // Offsets can be reported relative to the message (the plaintext sits at KEMAC offset + 4).
  expect(decodeError(patched(2, '0011', plain), (b) => decodeKeyData(b, 109))).toMatchObject({ offset: 111 });
});

test('lenient decoding keeps what came before the error', () => {
  const { message, error } = decodeMikeyLenient(patched(51, '0100'));
  expect(error).toMatchObject({ offset: 51, payload: 'ID' });
  expect(message.hdr.csbId).toBe(0x11223344);
  expect(message.payloads.map((p) => p.type)).toEqual(['EXT', 'T', 'RAND']);
  expect(decodeMikeyLenient(V3)).toEqual({ message: decodeMikey(V3) });
  const empty = decodeMikeyLenient(Buffer.alloc(0));
  expect(empty.error).toMatchObject({ offset: 0, payload: 'HDR' });
});

test('every codec entry point refuses more octets than a UDP datagram carries; the largest legal message decodes fast', async () => {
  const { MAX_MIKEY_MESSAGE_OCTETS, decodeMikey: strict, decodeMikeyLenient: lenient, decodeKeyData: keyData } = await import('./codec.ts');
  expect(MAX_MIKEY_MESSAGE_OCTETS).toBe(65_527);
  // HDR announcing EXT, then empty EXT payloads (next = EXT, type 0xff, length 0) up to the size given.
  const chain = (octets: number): Buffer => {
    const hdr = Buffer.from('01001500000000000000', 'hex'); // version 1, data type 0, next = EXT, V|PRF 0, CSB ID 0, #CS 0, map type 0
    const body = Buffer.alloc(octets - hdr.length);
    for (let i = 0; i + 4 <= body.length; i += 4) body.set([21, 0xff, 0, 0], i);
    return Buffer.concat([hdr, body]);
  };
  const tooBig = chain(MAX_MIKEY_MESSAGE_OCTETS + 1);
  expect(() => strict(tooBig)).toThrow(/larger than a UDP datagram can carry/);
  const l = lenient(tooBig);
  expect(l.error?.payload).toBe('message');
  expect(l.message.payloads).toHaveLength(0);
  expect(() => keyData(Buffer.alloc(MAX_MIKEY_MESSAGE_OCTETS + 1))).toThrow(/larger than a UDP datagram/);
  // The largest legal size: about 16,000 payloads decoded well under a second (linear walk).
  const big = chain(MAX_MIKEY_MESSAGE_OCTETS - ((MAX_MIKEY_MESSAGE_OCTETS - 10) % 4));
  const t0 = performance.now();
  const walked = lenient(big);
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(walked.message.payloads.length).toBeGreaterThan(16_000);
});
