// The Digest and MSK-response verifiers against protocol §8.2 (MBMS-shaped auth-int, computed independently).
import { test, expect } from '@playwright/test';
import { defaultProfile } from '../../mbms/index.ts';
import { verifyAuthenticationInfo, verifyChallenge, verifyMskResponseBody } from './http.ts';

const PASSWORD = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const AUTHORIZATION = 'Digest username="AbCdEf0123456789@bsf.example.com", realm="3GPP-bootstrapping@bmsc.example.com", '
  + 'nonce="MTIzNDU2Nzg5MGFiY2RlZg==", uri="/keymanagement?requesttype=msk-request", qop=auth-int, nc=00000001, '
  + 'cnonce="0a4f113b", response="8e51a095876e39b1a610116eb1c9ef5b", algorithm=MD5';
const RESPONSE_BODY = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<mskResponse><mskID>AAEAAQ==</mskID><status>200</status></mskResponse>\n', 'utf8');
const failed = (checks: { check: string; ok: boolean }[]) => checks.filter((c) => !c.ok).map((c) => c.check);

test('rspauth of §8.2 verifies over the response body; one changed digit or body octet does not', () => {
  const info = (rspauth: string): [string, string][] => [['Authentication-Info', `qop=auth-int, rspauth="${rspauth}", cnonce="0a4f113b", nc=00000001`]];
  const good = verifyAuthenticationInfo(info('60be60326bdce503db6ecb9c17fbf296'), RESPONSE_BODY, { rspauth: 'valid', echo: true }, { authorization: AUTHORIZATION, password: PASSWORD });
  expect(failed(good.checks)).toEqual([]);
  const bad = verifyAuthenticationInfo(info('60be60326bdce503db6ecb9c17fbf297'), RESPONSE_BODY, { rspauth: 'valid' }, { authorization: AUTHORIZATION, password: PASSWORD });
  expect(failed(bad.checks)).toEqual(['digest.rspauth']);
  const tampered = Buffer.from(RESPONSE_BODY); tampered[60] ^= 0x01;
  expect(failed(verifyAuthenticationInfo(info('60be60326bdce503db6ecb9c17fbf296'), tampered, { rspauth: 'valid' }, { authorization: AUTHORIZATION, password: PASSWORD }).checks)).toEqual(['digest.rspauth']);
  const noEcho = verifyAuthenticationInfo([['Authentication-Info', 'qop=auth-int, rspauth="60be60326bdce503db6ecb9c17fbf296", cnonce="x", nc=00000002']], RESPONSE_BODY, { rspauth: 'valid', echo: true }, { authorization: AUTHORIZATION, password: PASSWORD });
  expect(failed(noEcho.checks)).toEqual(expect.arrayContaining(['digest.auth-info.cnonce', 'digest.auth-info.nc']));
  expect(failed(verifyAuthenticationInfo([], RESPONSE_BODY, { rspauth: 'valid' }, { authorization: AUTHORIZATION, password: PASSWORD }).checks)).toEqual(['digest.auth-info']);
});

test('challenges: GBA realm of the BM-SC, qop and algorithm of the profile, stale, fresh nonce', () => {
  const profile = defaultProfile();
  const ctx = { profile, nafFqdn: 'bmsc.example.com', earlierNonces: ['n0'] };
  const ok = verifyChallenge([['WWW-Authenticate', 'Digest realm="3GPP-bootstrapping@bmsc.example.com", nonce="n1", qop="auth-int", algorithm=MD5']],
    { realm: 'gba', qop: 'profile', algorithm: 'profile', stale: false, freshNonce: true }, ctx);
  expect(failed(ok.checks)).toEqual([]);
  const bad = verifyChallenge([['WWW-Authenticate', 'Digest realm="bmsc.example.com", nonce="n0", qop="auth", algorithm=SHA-256, stale=true']],
    { realm: 'gba', qop: 'profile', algorithm: 'profile', stale: false, freshNonce: true }, ctx);
  expect(failed(bad.checks).sort()).toEqual(['digest.algorithm', 'digest.fresh-nonce', 'digest.qop', 'digest.realm', 'digest.stale']);
  expect(failed(verifyChallenge([], { realm: 'gba' }, ctx).checks)).toEqual(['digest.challenge']);
  const otherHost = verifyChallenge([['WWW-Authenticate', 'Digest realm="3GPP-bootstrapping@evil.example.com", nonce="n2"']], { realm: 'gba' }, ctx);
  expect(failed(otherHost.checks)).toEqual(['digest.realm']);
});

test('MSK response bodies: entries per requested key, statuses, unsubscribed refusals', () => {
  const profile = defaultProfile();
  const headers: [string, string][] = [['Content-Type', 'application/mbms-msk-response+xml']];
  const sub = { keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00010001 };
  const unsub = { keyDomainId: Buffer.from('00f110', 'hex'), mskId: 0x00020001 };
  const both = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<mskResponse><mskID>AAEAAQ==</mskID><status>200</status><mskID>AAIAAQ==</mskID><status>403</status></mskResponse>\n');
  const r = verifyMskResponseBody(200, headers, both, { mskResponse: true, entries: 'per-requested-key', statuses: 'error-for-unsubscribed' }, { profile, requested: [sub, unsub], unsubscribed: [unsub] });
  expect(failed(r.checks)).toEqual([]);
  expect(r.granted).toEqual([0x00010001]);
  const leak = Buffer.from(both.toString().replace('403', '200'));
  expect(failed(verifyMskResponseBody(200, headers, leak, { statuses: 'error-for-unsubscribed' }, { profile, requested: [sub, unsub], unsubscribed: [unsub] }).checks)).toEqual(['msk-response.statuses']);
  const broken = Buffer.from('<mskResponse><mskID>AAEAAQ==</mskID>');
  expect(failed(verifyMskResponseBody(200, [['Content-Type', 'text/plain']], broken, { mskResponse: true }, { profile, requested: [sub], unsubscribed: [] }).checks))
    .toEqual(expect.arrayContaining(['msk-response.content-type', 'msk-response.xml', 'msk-response.shape']));
});
