// Protocol §8.3 MIKEY vectors V1-V6, byte for byte (values computed by two independent implementations).
import { test, expect } from '@playwright/test';
import {
  aesCm128, aesCmIv, buildMskMessage, buildVerificationMessage, decodeKeyData, decodeMikey, deriveMessageKeys,
  deriveTgkKeys, encodeMikey, clearComputed, findPayload, prf, pskLabel, readKeyMessage, verificationMac,
  verifyVerificationMessage, mikeyProfile, PSK_LABEL, type VerificationMacVariant,
} from './index.ts';
import {
  V3_MSK_MESSAGE, V4_BODY, V4_MAC, VECTOR_CSB_ID, VECTOR_IDI, VECTOR_IDR, VECTOR_MSK, VECTOR_MUK, VECTOR_RAND,
} from '../../fixtures/mikey-vectors.ts';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MUK = VECTOR_MUK;
const CSB = VECTOR_CSB_ID;
const RAND = VECTOR_RAND;
const MSK = VECTOR_MSK;
const IDI = VECTOR_IDI;
const IDR = VECTOR_IDR;
const V3 = V3_MSK_MESSAGE;

test('V1: PSK message keys from the MUK (n = 1, m = 1)', () => {
  expect(pskLabel(PSK_LABEL.encr, CSB, RAND).toString('hex')).toBe('150533e1ff11223344a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
  const k = deriveMessageKeys(MUK, CSB, RAND);
  expect(k.encrKey.toString('hex')).toBe('3243cf4d197c3990eaddb74177cc5250');
  expect(k.authKey.toString('hex')).toBe('ceb5f6b8e08445d53385c10a724bd4346dd0da29');
  expect(k.saltKey.toString('hex')).toBe('8d0636627640b2eae216416c80d7');
});

test('V2: PRF general case, 48-octet inkey (n = 2) and 400-bit outkey (m = 3)', () => {
  const inkey = Buffer.from(Array.from({ length: 48 }, (_, i) => i));
  const label = h('150533e1 ff deadbeef 00000000000000000000000000000000');
  const out = prf(inkey, label, 50);
  expect(out.toString('hex')).toBe(
    '65647081db7921894b09a02e12728197f49a74648f94038536c6cb0d25fce473c63d4ff0f66a38025ddfe9d9fd500e3e2bac');
  // Each block alone gives the published P(si, label, 3) prefix; the result is their XOR.
  expect(prf(inkey.subarray(0, 32), label, 50).toString('hex')).toBe(
    'bd7f2dd041a372595cfc0497d1b85e1d96cbe8dc2f0ef9c5b9c5e14a7d36b1a82671552e9ea5633bee8142c25d0b27660398');
  expect(prf(inkey.subarray(32), label, 50).toString('hex')).toBe(
    'd81b5d519ada53d017f5a4b9c3cadf8a62519cb8a09afa408f032a4758ca55dbe04c1ade68cf5b39b35eab1ba05b29582834');
  // Shorter outputs are prefixes of longer ones (outkey = first bits of the XOR).
  expect(prf(inkey, label, 7).toString('hex')).toBe('65647081db7921');
});

test('V3: AES-CM IV, key data ciphertext and MAC of the MSK message', () => {
  const k = deriveMessageKeys(MUK, CSB, RAND);
  expect(aesCmIv(k.saltKey, CSB, 1n).toString('hex')).toBe('8d0627404504b2eae216416c80d60000');
  const plain = h('00 00 0010 2b7e151628aed2a6abf7158809cf4f3c');
  const cipher = aesCm128(k.encrKey, k.saltKey, CSB, 1n, plain);
  expect(cipher.toString('hex')).toBe('59e3637f7e9624d7cf07a448ffbc6f8bcf984c97');
  expect(aesCm128(k.encrKey, k.saltKey, CSB, 1n, cipher).equals(plain)).toBe(true);
  expect(decodeKeyData(plain)).toEqual([{ next: 0, kdType: 0, kv: 0, length: 16, key: MSK }]);
});

test('V3: decoding the 150-octet MSK message gives the fields of the breakdown', () => {
  expect(V3.length).toBe(150);
  const m = decodeMikey(V3);
  expect(m.hdr).toEqual({ offset: 0, version: 1, dataType: 0, next: 21, v: true, prf: 0, csbId: CSB, numCs: 0, csIdMapType: 1 });
  expect(m.payloads.map((p) => [p.type, p.offset])).toEqual([['EXT', 10], ['T', 25], ['RAND', 31], ['ID', 49], ['ID', 69], ['KEMAC', 105]]);
  const ext = findPayload(m, 'EXT')!;
  expect(ext.keyIds).toEqual([{ idType: 0, length: 3, value: h('00f110') }, { idType: 1, length: 4, value: h('00010001') }]);
  expect(findPayload(m, 'T')).toMatchObject({ tsType: 2, tsValue: 1n, next: 11 });
  const kemac = findPayload(m, 'KEMAC')!;
  expect(kemac.mac!.toString('hex')).toBe('eceace3d2ee6095d7a76b164f279ef6bfefadcbd');
  expect(encodeMikey(m).equals(V3)).toBe(true);
  expect(encodeMikey(clearComputed(m), { authKey: deriveMessageKeys(MUK, CSB, RAND).authKey }).equals(V3)).toBe(true);
});

test('V3: buildMskMessage produces the vector exactly and readKeyMessage recovers the MSK', () => {
  const built = buildMskMessage({
    muk: MUK, csbId: CSB, counter: 1, rand: RAND, keyDomainId: h('00f110'), mskId: 0x00010001, msk: MSK, v: true, idi: IDI, idr: IDR,
  });
  expect(built.bytes.toString('hex')).toBe(V3.toString('hex'));
  const r = readKeyMessage(V3, { psk: MUK });
  expect(r).toMatchObject({ kind: 'msk', macValid: true, counter: 1, v: true, csbId: CSB });
  expect(r.error).toBeUndefined();
  expect(r.keyIds).toEqual({ keyDomainId: h('00f110'), mskId: h('00010001') });
  expect(r.keyData.map((k) => k.key.toString('hex'))).toEqual([MSK.toString('hex')]);
  // A single flipped MAC bit is caught.
  const bad = Buffer.from(V3);
  bad[149] ^= 1;
  expect(readKeyMessage(bad, { psk: MUK })).toMatchObject({ macValid: false, keyData: [] });
  // The wrong MUK is caught.
  expect(readKeyMessage(V3, { psk: Buffer.alloc(32, 7) }).macValid).toBe(false);
});

const V4 = V4_MAC;

for (const [variant, mac] of Object.entries(V4) as [VerificationMacVariant, string][]) {
  test(`V4: verification message MAC, variant ${variant}`, () => {
    const authKey = deriveMessageKeys(MUK, CSB, RAND).authKey;
    const computed = verificationMac(variant, authKey, {
      body: V4_BODY, idi: Buffer.from(IDI), idr: Buffer.from(IDR), tsType: 2, tsValue: 1n,
    });
    expect(computed.toString('hex')).toBe(mac);
    const profile = mikeyProfile({ verification: { macVariant: variant } });
    const ack = buildVerificationMessage({ received: V3, psk: MUK, profile });
    expect(ack.bytes.toString('hex')).toBe(V4_BODY.toString('hex') + mac);
    const check = verifyVerificationMessage(ack.bytes, { original: decodeMikey(V3), psk: MUK, rand: RAND }, profile);
    expect(check).toMatchObject({ macValid: true, csbId: CSB, counter: 1, echoedCounterMatches: true });
    // Checked under another variant the same ACK fails: a strict checker tries the configured variant only.
    const other = (Object.keys(V4) as VerificationMacVariant[]).find((x) => x !== variant)!;
    const cross = verifyVerificationMessage(ack.bytes, { original: decodeMikey(V3), psk: MUK, rand: RAND },
      mikeyProfile({ verification: { macVariant: other } }));
    expect(cross.macValid).toBe(false);
  });
}

test('V5: MTK-message keys from the MSK, with the MSK RAND and with an empty RAND', () => {
  const a = deriveMessageKeys(MSK, 0x55667788, RAND);
  expect([a.encrKey, a.authKey, a.saltKey].map((b) => b.toString('hex'))).toEqual([
    '4c469f77cf59a7e9d8aaefb235bbb5e0', 'cb7e53c3e76e8f6979efd19ccd8d4f97a449e667', '41ba4e6dd8e71abf766e865c3f9a']);
  const b = deriveMessageKeys(MSK, 0x55667788, Buffer.alloc(0));
  expect([b.encrKey, b.authKey, b.saltKey].map((x) => x.toString('hex'))).toEqual([
    '13192977bc0f50ced6f8a13d123e208d', 'd81dc30fa4c99fdb5d4f3f1455863b3040bc46bb', '1d87fd26c71c662ddf1e21c0c7e4']);
});

test('V6: keys derived from a TGK for crypto session 1', () => {
  const k = deriveTgkKeys(MSK, 1, CSB, RAND);
  expect(k.tek.toString('hex')).toBe('806a3d616f0626e794bf97ae131c230f');
  expect(k.authKey.toString('hex')).toBe('dfa516428726a2e3c5f52926024fdf78acbca9c5');
  expect(k.encrKey.toString('hex')).toBe('60b32e65e648e5cd7b6cc5f55354a4c5');
  expect(k.saltKey.toString('hex')).toBe('bee51b2800974b4014075f2ddcc1');
});
