import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { nafId, realm, realmHost, realmMatches, digestPassword } from './index.ts';

test('NAF_ID = FQDN || 01 00 00 00 01 (protocol §3.4)', () => {
  expect(nafId('bmsc.example.com').toString('hex')).toBe(`${Buffer.from('bmsc.example.com').toString('hex')}0100000001`);
  expect(nafId('a').length).toBe(6);
});

test('realm = 3GPP-bootstrapping@<FQDN> and its checks (protocol §3.3, O6)', () => {
  expect(realm('bmsc.example.com')).toBe('3GPP-bootstrapping@bmsc.example.com');
  expect(realm('bmsc.example.com', '3GPP-bootstrapping-uicc')).toBe('3GPP-bootstrapping-uicc@bmsc.example.com');
  expect(realmHost('3GPP-bootstrapping@bmsc.example.com')).toBe('bmsc.example.com');
  expect(realmHost('noat')).toBeUndefined();
  expect(realmMatches('3GPP-bootstrapping@bmsc.example.com', ['3GPP-bootstrapping'], 'BMSC.example.com')).toBe(true);
  expect(realmMatches('3GPP-bootstrapping@other.example.com', ['3GPP-bootstrapping'], 'bmsc.example.com')).toBe(false);
  expect(realmMatches('3GPP-bootstrapping@other.example.com', ['3GPP-bootstrapping'])).toBe(true);
  expect(realmMatches('other@bmsc.example.com', ['3GPP-bootstrapping'])).toBe(false);
});

test('Digest password = base64(Ks_NAF), protocol §8.2 value, and it gives the §8.2 H(A1)', () => {
  const ksNaf = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const password = digestPassword(ksNaf);
  expect(password).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
  expect(digestPassword(Buffer.from(ksNaf, 'hex'))).toBe(password);
  // Independent check with node:crypto against the published H(A1) of §8.2.
  const ha1 = createHash('md5').update(`AbCdEf0123456789@bsf.example.com:3GPP-bootstrapping@bmsc.example.com:${password}`).digest('hex');
  expect(ha1).toBe('cc01fe7ab37ad58945ec8757f997eb0f');
  expect(() => digestPassword('xyz')).toThrow(TypeError);
});
