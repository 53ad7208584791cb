import { test, expect } from '@playwright/test';
import {
  keyDomainIdFromPlmn, plmnFromKeyDomainId, mskId, parseMskId, mskIdToBytes, mskIdFromBytes, mtkIdToBytes,
  mtkIdFromBytes, srtpMki, parseSrtpMki, isNewerKeyNumber, isTriggerKeyId, keyGroupKey, mskKey, KeyIdError,
} from './index.ts';

test.describe('Key Domain ID from PLMN (protocol §4.2, O14)', () => {
  test('001/01 encodes as 00 F1 10 (MNC3 = F for a two-digit MNC)', () => {
    expect(keyDomainIdFromPlmn('001', '01').toString('hex')).toBe('00f110');
  });
  test('three-digit MNC fills the MNC3 nibble: 310/410 -> 13 00 14, 234/015 -> 32 54 10', () => {
    expect(keyDomainIdFromPlmn('310', '410').toString('hex')).toBe('130014');
    expect(keyDomainIdFromPlmn('234', '015').toString('hex')).toBe('325410');
    expect(keyDomainIdFromPlmn('262', '01').toString('hex')).toBe('62f210');
  });
  test('decodes back to MCC and MNC, two and three digits', () => {
    expect(plmnFromKeyDomainId(Buffer.from('00f110', 'hex'))).toEqual({ mcc: '001', mnc: '01' });
    expect(plmnFromKeyDomainId(Buffer.from('130014', 'hex'))).toEqual({ mcc: '310', mnc: '410' });
    for (const [mcc, mnc] of [['999', '99'], ['208', '10'], ['405', '854']] as const) {
      expect(plmnFromKeyDomainId(keyDomainIdFromPlmn(mcc, mnc))).toEqual({ mcc, mnc });
    }
  });
  test('rejects non-digits, wrong lengths and non-BCD nibbles', () => {
    expect(() => keyDomainIdFromPlmn('01', '01')).toThrow(KeyIdError);
    expect(() => keyDomainIdFromPlmn('001', '1')).toThrow(KeyIdError);
    expect(() => keyDomainIdFromPlmn('00a', '01')).toThrow(KeyIdError);
    expect(() => plmnFromKeyDomainId(Buffer.from('00f1', 'hex'))).toThrow(KeyIdError);
    expect(() => plmnFromKeyDomainId(Buffer.from('0af110', 'hex'))).toThrow(/not PLMN BCD/);
    expect(() => plmnFromKeyDomainId(Buffer.from('00f11f', 'hex'))).toThrow(KeyIdError);
  });
});

test.describe('MSK ID, MTK ID, MKI (protocol §6.2, O13, O21, O22)', () => {
  test('MSK ID = Key Group (high 2 octets) || Key Number (low 2 octets)', () => {
    expect(mskId(1, 1)).toBe(0x00010001);
    expect(mskId(0xabcd, 0x1234)).toBe(0xabcd1234);
    expect(mskId(0xffff, 0xffff)).toBe(0xffffffff);
    expect(parseMskId(0xabcd1234)).toEqual({ group: 0xabcd, number: 0x1234 });
    expect(mskIdToBytes(0xabcd1234).toString('hex')).toBe('abcd1234');
    expect(mskIdFromBytes(Buffer.from('00010002', 'hex'))).toBe(mskId(1, 2));
  });
  test('out-of-range parts and lengths are rejected', () => {
    expect(() => mskId(0x10000, 1)).toThrow(KeyIdError);
    expect(() => mskId(1, -1)).toThrow(KeyIdError);
    expect(() => mskId(1.5, 1)).toThrow(KeyIdError);
    expect(() => mskIdFromBytes(Buffer.alloc(3))).toThrow(KeyIdError);
    expect(() => mtkIdToBytes(0x10000)).toThrow(KeyIdError);
    expect(() => mtkIdFromBytes(Buffer.alloc(3))).toThrow(KeyIdError);
  });
  test('MTK ID is 2 octets by default, configurable length', () => {
    expect(mtkIdToBytes(0x0102).toString('hex')).toBe('0102');
    expect(mtkIdToBytes(5, 4).toString('hex')).toBe('00000005');
    expect(mtkIdFromBytes(Buffer.from('00000005', 'hex'), 4)).toBe(5);
  });
  test('SRTP MKI is MSK ID || MTK ID, 6 octets', () => {
    const mki = srtpMki(mskId(2, 7), 0x0a0b);
    expect(mki.toString('hex')).toBe('000200070a0b');
    expect(parseSrtpMki(mki)).toEqual({ mskId: 0x00020007, mtkId: 0x0a0b });
    expect(() => parseSrtpMki(Buffer.alloc(5))).toThrow(KeyIdError);
  });
  test('strict increase, 0 never a key; trigger IDs are all zero', () => {
    expect(isNewerKeyNumber(1, undefined)).toBe(true);
    expect(isNewerKeyNumber(0, undefined)).toBe(false);
    expect(isNewerKeyNumber(3, 3)).toBe(false);
    expect(isNewerKeyNumber(2, 3)).toBe(false);
    expect(isNewerKeyNumber(4, 3)).toBe(true);
    expect(isTriggerKeyId(0)).toBe(true);
    expect(isTriggerKeyId(Buffer.alloc(4))).toBe(true);
    expect(isTriggerKeyId(Buffer.from('00000100', 'hex'))).toBe(false);
  });
  test('map keys name domain + MSK and domain + key group', () => {
    const domain = Buffer.from('00f110', 'hex');
    expect(mskKey(domain, 0x00010002)).toBe('00f110/00010002');
    expect(keyGroupKey(domain, 0x00010002)).toBe('00f110/0001');
    expect(keyGroupKey(domain, 0x00010003)).toBe(keyGroupKey(domain, 0x00010002));
  });
});
