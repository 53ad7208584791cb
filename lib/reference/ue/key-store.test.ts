// Key store and pull-key selection of the reference UE (protocol §6.2, O20, O21), without sockets.
import { test, expect } from '@playwright/test';
import { keyDomainIdFromPlmn, referenceProfile } from '../../mbms/index.ts';
import { UeKeyStore } from './key-store.ts';
import { pullKeys } from './mikey-processor.ts';

const D1 = keyDomainIdFromPlmn('001', '01');
const D2 = keyDomainIdFromPlmn('262', '01');
const key = (n: number): Buffer => Buffer.alloc(16, n);
const ids = (s: UeKeyStore): string[] => s.msks().map((m) => `${m.keyDomainId.toString('hex')}/${m.mskId.toString(16).padStart(8, '0')}`);

test('two slots per (domain, key group); domains and groups are separate scopes', () => {
  const s = new UeKeyStore({ maxPerGroup: 2, strictIncrease: true });
  for (const [d, id] of [[D1, 0x00010001], [D1, 0x00010002], [D2, 0x00010001], [D1, 0x00020001]] as const) {
    expect(s.installMsk(d, id, key(1), Buffer.alloc(16), 0)).toMatchObject({ installed: true, replaced: false });
  }
  const third = s.installMsk(D1, 0x00010003, key(3), Buffer.alloc(16), 1);
  expect(third).toMatchObject({ installed: true, evicted: { mskId: 0x00010001 } });
  expect(ids(s)).toEqual(['00f110/00010002', '00f110/00010003', '00f110/00020001', '62f210/00010001']);
  expect(s.installMsk(D1, 0x00010001, key(1), Buffer.alloc(16), 2)).toEqual({ installed: false, reason: 'stale-key-number' });
  // Same MSK ID again: the slot is refreshed, nothing evicted; a changed key drops its MTK.
  const msk = s.getMsk(D1, 0x00010003)!;
  expect(s.installMtk(msk, 5, key(9), undefined, 3)).toEqual({ installed: true });
  expect(s.installMsk(D1, 0x00010003, key(4), Buffer.alloc(16), 4)).toEqual({ installed: true, replaced: true });
  expect(s.getMsk(D1, 0x00010003)!.mtk).toBeUndefined();
});

test('MTK IDs strictly increase per MSK (O21); with monotonic "none" the oldest MSK is evicted instead', () => {
  const strict = new UeKeyStore({ maxPerGroup: 2, strictIncrease: true });
  strict.installMsk(D1, 0x00010001, key(1), Buffer.alloc(16), 0);
  const msk = strict.getMsk(D1, 0x00010001)!;
  expect(strict.installMtk(msk, 2, key(2), undefined, 0)).toEqual({ installed: true });
  expect(strict.installMtk(msk, 2, key(3), undefined, 0)).toEqual({ installed: false, reason: 'mtk-id-not-newer' });
  expect(strict.installMtk(msk, 1, key(3), undefined, 0)).toEqual({ installed: false, reason: 'mtk-id-not-newer' });
  const loose = new UeKeyStore({ maxPerGroup: 2, strictIncrease: false });
  loose.installMsk(D1, 0x00010005, key(1), Buffer.alloc(16), 0);
  loose.installMsk(D1, 0x00010002, key(1), Buffer.alloc(16), 1);
  expect(loose.installMsk(D1, 0x00010001, key(1), Buffer.alloc(16), 2)).toMatchObject({ installed: true, evicted: { mskId: 0x00010005 } });
});

test('counters per MUK and per MSK; deleteMsks by domain and by MSK', () => {
  const s = new UeKeyStore({ maxPerGroup: 2, strictIncrease: true, counters: { muk: { a: 4 }, msk: {} } });
  expect(s.mukCounter('a')).toBe(4);
  expect(s.mukCounter('b')).toBe(0);
  s.setMskCounter(D1, 0x00010001, 9);
  expect(s.counters()).toEqual({ muk: { a: 4 }, msk: { '00f110/00010001': 9 } });
  s.installMsk(D1, 0x00010001, key(1), Buffer.alloc(16), 0);
  s.installMsk(D2, 0x00010001, key(1), Buffer.alloc(16), 0);
  expect(s.deleteMsks(D2).map((m) => m.keyDomainId.toString('hex'))).toEqual(['62f210']);
  expect(s.deleteMsks(undefined, 0x00010001)).toHaveLength(1);
  expect(s.msks()).toEqual([]);
});

test('solicited pull selection (O20): trigger domain or all, held or current MSKs', () => {
  const store = new UeKeyStore({ maxPerGroup: 2, strictIncrease: true });
  store.installMsk(D2, 0x00030002, key(1), Buffer.alloc(16), 0);
  const services = new Map([['00f110', [0x00010001]]]);
  const profile = referenceProfile();
  expect(pullKeys({ profile, store, services }, D1)).toEqual([{ keyDomainId: D1, mskId: 0x00010001 }]);
  expect(pullKeys({ profile, store, services }, D2)).toEqual([{ keyDomainId: D2, mskId: 0x00030002 }]);
  // A trigger whose Key Domain ID is zero (O20 zeroKeyIds) asks for every known domain.
  expect(pullKeys({ profile, store, services }, Buffer.alloc(3))).toEqual([{ keyDomainId: D1, mskId: 0x00010001 }, { keyDomainId: D2, mskId: 0x00030002 }]);
  profile.solicitedPull.requestDomain = 'all';
  profile.solicitedPull.requestMsks = 'current';
  expect(pullKeys({ profile, store, services }, D1)).toEqual([{ keyDomainId: D1, mskId: 0x00010000 }, { keyDomainId: D2, mskId: 0x00030000 }]);
});
