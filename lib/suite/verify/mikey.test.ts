// The MIKEY verifier against the published-by-us vectors of protocol §8.3 (V3 MSK message, V4 ACK), computed
// by two independent implementations: known answers, not the codec checking itself.
import { test, expect } from '@playwright/test';
import { defaultMikeyProfile, mikeyProfile } from '../../mikey/index.ts';
import { classifyDatagram, verifyAck, verifyKeyMessage } from './mikey.ts';

const MUK = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
// Protocol §8.3 V3: complete MSK message, 150 octets.
const V3 = Buffer.from(
  '010015801122334400010503000b000300f1100104000100010b02000000010610a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'
  + '06010010626d73632e6578616d706c652e636f6d0101002041624364456630313233343536373839406273662e6578616d70'
  + '6c652e636f6d0001001459e3637f7e9624d7cf07a448ffbc6f8bcf984c9701eceace3d2ee6095d7a76b164f279ef6bfefadcbd', 'hex');
const MSK = '2b7e151628aed2a6abf7158809cf4f3c';

const failed = (v: { checks: { check: string; ok: boolean }[] }) => v.checks.filter((c) => !c.ok).map((c) => c.check);

test('the §8.3 V3 MSK message verifies: MAC, decryption to the known MSK, key IDs, counter', () => {
  expect(V3.length).toBe(150);
  const v = verifyKeyMessage(V3, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile, v: true });
  expect(failed(v)).toEqual([]);
  expect(v.macValid).toBe(true);
  expect(v.keyData).toHaveLength(1);
  expect(v.keyData[0]!.key.toString('hex')).toBe(MSK);
  expect(v.keyIds.keyDomainId!.toString('hex')).toBe('00f110');
  expect(v.keyIds.mskId!.toString('hex')).toBe('00010001');
  expect(v.counter).toBe(1n);
  expect(v.csbId).toBe(0x11223344);
  expect(classifyDatagram(V3).kind).toBe('msk');
});

test('a flipped MAC bit, a flipped covered octet, or the wrong MUK fail the MAC check', () => {
  const badMac = Buffer.from(V3); badMac[149] ^= 0x01;
  expect(failed(verifyKeyMessage(badMac, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile }))).toContain('mikey.mac');
  const badExt = Buffer.from(V3); badExt[24] ^= 0x01; // last octet of the MSK ID, under the MAC
  const v = verifyKeyMessage(badExt, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile });
  expect(failed(v)).toContain('mikey.mac');
  expect(v.keyData).toEqual([]); // key data is trusted only when the MAC holds
  const otherMuk = Buffer.from(MUK); otherMuk[0] ^= 0x80;
  expect(failed(verifyKeyMessage(V3, { kind: 'msk', psk: otherMuk, profile: defaultMikeyProfile }))).toContain('mikey.mac');
});

test('the V flag, trigger key data and structure are judged', () => {
  expect(failed(verifyKeyMessage(V3, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile, v: false }))).toContain('mikey.v-flag');
  // As a trigger, V3 delivers a key: that is a failure of the trigger requirement (O20).
  expect(failed(verifyKeyMessage(V3, { kind: 'trigger', psk: MUK, profile: defaultMikeyProfile }))).toContain('mikey.key-data');
  const trailing = Buffer.concat([V3, Buffer.from([0])]);
  expect(failed(verifyKeyMessage(trailing, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile }))).toEqual(['mikey.decode']);
  const version2 = Buffer.from(V3); version2[0] = 2;
  expect(classifyDatagram(version2).kind).toBe('undecodable');
  const prf1 = Buffer.from(V3); prf1[3] = 0x81;
  expect(failed(verifyKeyMessage(prf1, { kind: 'msk', psk: MUK, profile: defaultMikeyProfile }))).toEqual(expect.arrayContaining(['mikey.prf', 'mikey.mac']));
});

test('the §8.3 V4 verification message verifies for its variant and not for the others', () => {
  // V4: body (18 octets) then the 20-octet ver data of each MAC variant.
  const body = Buffer.from('010105001122334400010902000000010001', 'hex');
  const variants = {
    'rfc-ids-ts4': '625ab08b36751a7e655e1fbe3dafd5eb29ce0cdd',
    'rfc-ids-ts8': '723dfa470fb28c13206a18a146fee2c8a41f1892',
    'ts8-only': 'aa0d42a694735f9f8f13566a1c167a8675b8d0cf',
  } as const;
  for (const [variant, mac] of Object.entries(variants)) {
    const ack = Buffer.concat([body, Buffer.from(mac, 'hex')]);
    const profile = mikeyProfile({ verification: { macVariant: variant as keyof typeof variants } });
    expect(failed(verifyAck(ack, { original: V3, psk: MUK, profile })), variant).toEqual([]);
    const other = mikeyProfile({ verification: { macVariant: variant === 'ts8-only' ? 'rfc-ids-ts8' : 'ts8-only' } });
    expect(failed(verifyAck(ack, { original: V3, psk: MUK, profile: other })), variant).toEqual(['ack.mac']);
  }
  const wrongCsb = Buffer.concat([body, Buffer.from(variants['rfc-ids-ts8'], 'hex')]);
  wrongCsb[4] ^= 0x01;
  expect(failed(verifyAck(wrongCsb, { original: V3, psk: MUK, profile: defaultMikeyProfile }))).toEqual(expect.arrayContaining(['ack.csb-id', 'ack.mac']));
  expect(classifyDatagram(wrongCsb).kind).toBe('ack');
});
