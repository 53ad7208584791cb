// 33.246 builders and readers (protocol §1, §4.10, §5, §9). MACs and ciphertexts are checked with node
// crypto directly and the key values of vectors V1/V5, not with the code under test.
import { test, expect } from '@playwright/test';
import { createCipheriv, createHmac } from 'node:crypto';
import {
  buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger, buildVerificationMessage, classifyKeyMessage,
  decodeMikey, defaultMikeyProfile, findPayload, getKeyIds, mikeyProfile, readKeyMessage, verifyVerificationMessage,
  MikeyProfileError, type MikeyProfile,
} from './index.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MUK = h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const RAND = h('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
const MSK = h('2b7e151628aed2a6abf7158809cf4f3c');
const MTK = h('00112233445566778899aabbccddeeff');
const KDID = h('00f110');
// V1 (MUK, CSB 0x11223344, RAND) and V5 (MSK, CSB 0x55667788, RAND or empty) keys.
const V1 = { auth: h('ceb5f6b8e08445d53385c10a724bd4346dd0da29') };
const V5 = {
  rand: { encr: h('4c469f77cf59a7e9d8aaefb235bbb5e0'), auth: h('cb7e53c3e76e8f6979efd19ccd8d4f97a449e667'), salt: h('41ba4e6dd8e71abf766e865c3f9a') },
  empty: { encr: h('13192977bc0f50ced6f8a13d123e208d'), auth: h('d81dc30fa4c99fdb5d4f3f1455863b3040bc46bb'), salt: h('1d87fd26c71c662ddf1e21c0c7e4') },
};

/** MAC of a message whose KEMAC ends it: HMAC over everything but the last 20 octets. */
const tailMac = (key: Buffer, bytes: Buffer) => createHmac('sha1', key).update(bytes.subarray(0, bytes.length - 20)).digest();

/** AES-128-CTR with the §5.5 IV formed by hand: (salt XOR 0000‖CSB‖T64)‖0000. */
function decryptByHand(encr: Buffer, salt: Buffer, csbId: number, t64: bigint, data: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv);
  const x = Buffer.alloc(14);
  x.writeUInt32BE(csbId, 2);
  x.writeBigUInt64BE(t64, 6);
  for (let i = 0; i < 14; i++) iv[i] ^= x[i];
  return createCipheriv('aes-128-ctr', encr, iv).update(data);
}

test('MTK message (default profile): EXT with three IDs, COUNTER, no RAND/ID, KEMAC under the MSK with the MSK RAND', () => {
  const built = buildMtkMessage({ msk: MSK, mskRand: RAND, csbId: 0x55667788, counter: 0x102, keyDomainId: KDID, mskId: 0x00010001, mtkId: 5, mtk: MTK });
  const m = decodeMikey(built.bytes);
  expect(m.hdr).toMatchObject({ dataType: 0, v: false, csbId: 0x55667788, csIdMapType: 1, numCs: 0 });
  expect(m.payloads.map((p) => p.type)).toEqual(['EXT', 'T', 'KEMAC']);
  expect(getKeyIds(m)).toEqual({ keyDomainId: KDID, mskId: h('00010001'), mtkId: h('0005') });
  expect(tailMac(V5.rand.auth, built.bytes).equals(findPayload(m, 'KEMAC')!.mac!)).toBe(true);
  const plain = decryptByHand(V5.rand.encr, V5.rand.salt, 0x55667788, 0x102n, findPayload(m, 'KEMAC')!.encrData);
  expect(plain.toString('hex')).toBe('0000' + '0010' + MTK.toString('hex'));

  const read = readKeyMessage(built.bytes, { psk: MSK, rand: RAND });
  expect(read).toMatchObject({ kind: 'mtk', macValid: true, counter: 0x102, v: false, csbId: 0x55667788 });
  expect(read.keyData[0].key.equals(MTK)).toBe(true);
  // Without the MSK RAND the keys cannot be derived; with a wrong RAND the MAC fails.
  expect(readKeyMessage(built.bytes, { psk: MSK })).toMatchObject({ macValid: false, error: expect.stringMatching(/RAND/) });
  expect(readKeyMessage(built.bytes, { psk: MSK, rand: Buffer.alloc(16) }).macValid).toBe(false);
});

test('MTK message with O15 = empty RAND and a salt (TGK+SALT), O13 MTK ID of 4 octets', () => {
  const profile = mikeyProfile({ mtkRandSource: 'empty', ext: { mtkIdLength: 4 } });
  const salt = h('0102030405060708090a0b0c0d0e');
  const built = buildMtkMessage({ msk: MSK, csbId: 0x55667788, counter: 1, keyDomainId: KDID, mskId: 1, mtkId: 9, mtk: MTK, salt, profile });
  expect(tailMac(V5.empty.auth, built.bytes).equals(built.bytes.subarray(-20))).toBe(true);
  const m = decodeMikey(built.bytes);
  expect(getKeyIds(m).mtkId).toEqual(h('00000009'));
  const plain = decryptByHand(V5.empty.encr, V5.empty.salt, 0x55667788, 1n, findPayload(m, 'KEMAC')!.encrData);
  expect(plain.toString('hex')).toBe('00' + '10' + '0010' + MTK.toString('hex') + '000e' + salt.toString('hex'));
  const read = readKeyMessage(built.bytes, { psk: MSK }, profile);
  expect(read).toMatchObject({ kind: 'mtk', macValid: true });
  expect(read.keyData[0]).toMatchObject({ kdType: 1, salt });
});

test('O8 counter padding changes the IV: a right-padded message decrypts only under that profile', () => {
  const right = mikeyProfile({ ivCounterPadding: 'right-zero' });
  const built = buildMskMessage({ muk: MUK, csbId: 0x11223344, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 0x00010001, msk: MSK, v: false, idi: 'i', idr: 'r', profile: right });
  const kemac = findPayload(decodeMikey(built.bytes), 'KEMAC')!;
  const encr = h('3243cf4d197c3990eaddb74177cc5250');
  const salt = h('8d0636627640b2eae216416c80d7');
  expect(decryptByHand(encr, salt, 0x11223344, 1n << 32n, kemac.encrData).subarray(4).equals(MSK)).toBe(true);
  expect(readKeyMessage(built.bytes, { psk: MUK }, right).keyData[0].key.equals(MSK)).toBe(true);
  const wrong = readKeyMessage(built.bytes, { psk: MUK });
  expect(wrong.macValid).toBe(true);
  expect(wrong.keyData.length === 0 || !wrong.keyData[0].key.equals(MSK)).toBe(true);
});

test('solicited-pull trigger: MSK ID zero, KEMAC without key data, MAC under the MUK; O20 variants', () => {
  const t = buildSolicitedPullTrigger({ muk: MUK, csbId: 0x11223344, counter: 2, rand: RAND, keyDomainId: KDID, v: true, idi: 'bmsc', idr: 'ue' });
  const m = decodeMikey(t.bytes);
  expect(getKeyIds(m)).toEqual({ keyDomainId: KDID, mskId: h('00000000') });
  expect(findPayload(m, 'KEMAC')).toMatchObject({ length: 0, encrData: Buffer.alloc(0), macAlg: 1 });
  expect(tailMac(V1.auth, t.bytes).equals(t.bytes.subarray(-20))).toBe(true);
  expect(readKeyMessage(t.bytes, { psk: MUK })).toMatchObject({ kind: 'trigger', macValid: true, keyData: [], v: true });

  const p = mikeyProfile({ trigger: { zeroKeyIds: ['keyDomainId', 'mskId', 'mtkId'], mtkId: true, kemac: 'absent' } });
  const bare = decodeMikey(buildSolicitedPullTrigger({ muk: MUK, csbId: 1, counter: 2, rand: RAND, keyDomainId: KDID, v: false, idi: 'a', idr: 'b', profile: p }).bytes);
  expect(bare.payloads.map((x) => x.type)).toEqual(['EXT', 'T', 'RAND', 'ID', 'ID']);
  expect(getKeyIds(bare)).toEqual({ keyDomainId: h('000000'), mskId: h('00000000'), mtkId: h('0000') });
  expect(classifyKeyMessage(bare, p)).toBe('trigger');
});

test('the mutate hook edits the tree before encoding; the MAC follows unless mutate sets it', () => {
  const base = { muk: MUK, csbId: 0x11223344, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 0x00010001, msk: MSK, v: true, idi: 'i', idr: 'r' };
  const edited = buildMskMessage({ ...base, mutate: (m) => { findPayload(m, 'T')!.tsValue = 77n; } });
  expect(readKeyMessage(edited.bytes, { psk: MUK })).toMatchObject({ counter: 77, macValid: true });
  const forced = buildMskMessage({ ...base, mutate: (m) => { findPayload(m, 'KEMAC')!.mac = Buffer.alloc(20); } });
  expect(forced.bytes.subarray(-20).equals(Buffer.alloc(20))).toBe(true);
  expect(readKeyMessage(forced.bytes, { psk: MUK }).macValid).toBe(false);
  const nullMac = buildMskMessage({ ...base, mutate: (m) => { findPayload(m, 'KEMAC')!.macAlg = 0; } });
  expect(readKeyMessage(nullMac.bytes, { psk: MUK })).toMatchObject({ macValid: false, error: expect.stringMatching(/NULL/) });
  const extra = buildMskMessage({ ...base, mutate: (m) => { m.payloads.push({ type: 'V', authAlg: 1, mac: Buffer.alloc(20) }); } });
  expect(decodeMikey(extra.bytes).payloads.map((p) => p.type).slice(-2)).toEqual(['KEMAC', 'V']);
});

test('verification message: O16 EXT and IDr included, fresh TS; checks of CSB ID and echoed TS', () => {
  const msk = buildMskMessage({ muk: MUK, csbId: 0x11223344, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 0x00010001, msk: MSK, v: true, idi: 'bmsc.example.com', idr: 'AbCdEf0123456789@bsf.example.com' });
  const profile: MikeyProfile = mikeyProfile({ verification: { ext: true, idr: true } });
  const ack = buildVerificationMessage({ received: msk.message, psk: MUK, rand: RAND, profile });
  const m = decodeMikey(ack.bytes);
  expect(m.hdr).toMatchObject({ dataType: 1, v: false, csbId: 0x11223344 });
  expect(m.payloads.map((p) => p.type)).toEqual(['EXT', 'T', 'ID', 'V']);
  // rfc-ids-ts8 by hand: body ‖ IDi ‖ IDr ‖ TS as 64 bits.
  const body = ack.bytes.subarray(0, ack.bytes.length - 20);
  const byHand = createHmac('sha1', V1.auth).update(body).update('bmsc.example.com').update('AbCdEf0123456789@bsf.example.com')
    .update(h('0000000000000001')).digest();
  expect(ack.bytes.subarray(-20).equals(byHand)).toBe(true);
  expect(verifyVerificationMessage(ack.bytes, { original: msk.message, psk: MUK, rand: RAND }, profile))
    .toMatchObject({ macValid: true, echoedCounterMatches: true, csbIdMatches: true, counter: 1 });

  const wrongCsb = buildVerificationMessage({ received: msk.message, psk: MUK, profile, mutate: (x) => { x.hdr.csbId = 1; } });
  expect(verifyVerificationMessage(wrongCsb.bytes, { original: msk.message, psk: MUK }, profile))
    .toMatchObject({ csbIdMatches: false, error: expect.stringMatching(/CSB ID/) });
  const fresh = mikeyProfile({ verification: { timestamp: 'fresh' } });
  const freshAck = buildVerificationMessage({ received: msk.bytes, psk: MUK, counter: 2, profile: fresh });
  expect(verifyVerificationMessage(freshAck.bytes, { original: msk.message, psk: MUK }, fresh))
    .toMatchObject({ macValid: true, echoedCounterMatches: false, counter: 2 });
  const flipped = Buffer.from(ack.bytes);
  flipped[flipped.length - 1] ^= 0x80;
  expect(verifyVerificationMessage(flipped, { original: msk.message, psk: MUK }, profile).macValid).toBe(false);
  expect(verifyVerificationMessage(ack.bytes.subarray(0, 20), { original: msk.message, psk: MUK }, profile))
    .toMatchObject({ macValid: false, decodeError: expect.objectContaining({ code: 'ERR_MIKEY_DECODE' }) });
});

test('readKeyMessage classifies ACKs, errors and malformed input without throwing', () => {
  const msk = buildMskMessage({ muk: MUK, csbId: 1, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 1, msk: MSK, v: true, idi: 'i', idr: 'r' });
  const ack = buildVerificationMessage({ received: msk.bytes, psk: MUK });
  expect(readKeyMessage(ack.bytes, { psk: MUK })).toMatchObject({ kind: 'ack', macValid: false });
  const broken = readKeyMessage(msk.bytes.subarray(0, 40), { psk: MUK });
  expect(broken).toMatchObject({ kind: 'unknown', macValid: false, csbId: 1 });
  expect(broken.decodeError?.offset).toBeGreaterThan(0);
});

test('SRTP-ID map and SP from the profile (O9, O11), KV interval and SPI (O12)', () => {
  const profile = mikeyProfile({
    csIdMap: { type: 'srtp-id', srtpEntries: [{ policyNo: 0, ssrc: 0xcafe, roc: 0 }] }, payloads: { msk: { sp: true } },
    keyData: { msk: { type: 'TEK', kv: 'spi' } },
  });
  const built = buildMskMessage({ muk: MUK, csbId: 3, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 1, msk: MSK, v: false, idi: 'i', idr: 'r', profile, kv: { type: 'spi', spi: h('0000000100000002') } });
  const m = decodeMikey(built.bytes);
  expect(m.hdr).toMatchObject({ csIdMapType: 0, numCs: 1, csIdMap: [{ policyNo: 0, ssrc: 0xcafe, roc: 0 }] });
  expect(m.payloads.map((p) => p.type)).toEqual(['EXT', 'T', 'RAND', 'ID', 'ID', 'SP', 'KEMAC']);
  expect(readKeyMessage(built.bytes, { psk: MUK }, profile).keyData[0]).toMatchObject({ kdType: 2, kv: 1, spi: h('0000000100000002') });
  expect(() => buildMskMessage({ muk: MUK, csbId: 3, counter: 1, rand: RAND, keyDomainId: KDID, mskId: 1, msk: MSK, v: false, idi: 'i', idr: 'r', profile }))
    .toThrow(MikeyProfileError);
});

test('the default profile is frozen plain JSON with the protocol §9 defaults', () => {
  expect(JSON.parse(JSON.stringify(defaultMikeyProfile))).toEqual(defaultMikeyProfile);
  expect(Object.isFrozen(defaultMikeyProfile.verification)).toBe(true);
  expect(defaultMikeyProfile).toMatchObject({
    timestamp: { type: 'counter' }, ivCounterPadding: 'left-zero', mtkRandSource: 'msk-rand',
    verification: { macVariant: 'rfc-ids-ts8', timestamp: 'echoed' }, trigger: { kemac: 'empty' },
    keyData: { msk: { type: 'TGK', kv: 'null' } }, ext: { mtkIdLength: 2 },
  });
  const copy = mikeyProfile({ verification: { macVariant: 'ts8-only' } });
  expect(copy.verification).toEqual({ ...defaultMikeyProfile.verification, macVariant: 'ts8-only' });
  expect(defaultMikeyProfile.verification.macVariant).toBe('rfc-ids-ts8');
});

test('the profile JSON Schema accepts the defaults and rejects unknown options', async () => {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const { mikeyProfileSchema } = await import('./index.ts');
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(mikeyProfileSchema);
  expect(validate(JSON.parse(JSON.stringify(defaultMikeyProfile)))).toBe(true);
  expect(validate(mikeyProfile({ mtkRandSource: 'empty', trigger: { zeroKeyIds: ['keyDomainId', 'mskId'] } }))).toBe(true);
  expect(validate({ ...defaultMikeyProfile, mtkRandSource: 'fresh' })).toBe(false);
  expect(validate({ ...defaultMikeyProfile, extra: 1 })).toBe(false);
  const { verification: _v, ...missing } = defaultMikeyProfile;
  expect(validate(missing)).toBe(false);
});

test('NTP timestamps (O7 alternative): seconds since 1900 and a 32-bit fraction', async () => {
  const { ntpTimestamp } = await import('./index.ts');
  expect(ntpTimestamp(0)).toBe(0x83aa7e8000000000n);
  expect(ntpTimestamp(1500)).toBe(0x83aa7e8180000000n);
  const profile = mikeyProfile({ timestamp: { type: 'ntp-utc' } });
  const built = buildMskMessage({ muk: MUK, csbId: 1, counter: ntpTimestamp(1500), rand: RAND, keyDomainId: KDID, mskId: 1, msk: MSK, v: false, idi: 'i', idr: 'r', profile });
  expect(findPayload(decodeMikey(built.bytes), 'T')).toMatchObject({ tsType: 0, tsValue: 0x83aa7e8180000000n });
  expect(readKeyMessage(built.bytes, { psk: MUK }, profile).keyData[0].key.equals(MSK)).toBe(true);
});
