// Known answers: RFC 2617 §3.5, RFC 7616 §3.9.1 (published) and protocol §8.1/§8.2 (derived, [X]).
import { test, expect } from '@playwright/test';
import { computeResponse, computeRspauth, digestHash, normalizeAlgorithm } from './index.ts';

const RFC2617 = {
  username: 'Mufasa',
  realm: 'testrealm@host.com',
  password: 'Circle Of Life',
  nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  cnonce: '0a4f113b',
  nc: '00000001',
  qop: 'auth',
  method: 'GET',
  uri: '/dir/index.html',
};

const RFC7616 = {
  username: 'Mufasa',
  realm: 'http-auth@example.org',
  password: 'Circle of Life',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  qop: 'auth',
  method: 'GET',
  uri: '/dir/index.html',
};

test('RFC 2617 §3.5 MD5 qop=auth: H(A1), H(A2), response (published) and rspauth (protocol §8.1)', () => {
  const r = computeResponse(RFC2617);
  expect(r.ha1).toBe('939e7578ed9e3c518a452acee763bce9');
  expect(r.ha2).toBe('39aff3a2bab6126f332b942af96d3366');
  expect(r.response).toBe('6629fae49393a05397450978507c4ef1');
  expect(r.worksheet.a2).toBe('GET:/dir/index.html');
  expect(computeRspauth(RFC2617).rspauth).toBe('376602cfd2f4e8e5e78b948a85263e85');
  expect(computeRspauth(RFC2617).worksheet.a2).toBe(':/dir/index.html');
});

test('RFC 7616 §3.9.1 MD5 and SHA-256 (published), -sess and rspauth (protocol §8.1 derived)', () => {
  const md5 = computeResponse({ ...RFC7616, algorithm: 'MD5' });
  expect(md5.ha1).toBe('3d78807defe7de2157e2b0b6573a855f');
  expect(md5.ha2).toBe('39aff3a2bab6126f332b942af96d3366');
  expect(md5.response).toBe('8ca523f5e9506fed4657c9700eebdbec');
  const sha = computeResponse({ ...RFC7616, algorithm: 'SHA-256' });
  expect(sha.ha1).toBe('7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232');
  expect(sha.ha2).toBe('9a3fdae9a622fe8de177c24fa9c070f2b181ec85e15dcbdc32e10c82ad450b04');
  expect(sha.response).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  expect(computeResponse({ ...RFC7616, algorithm: 'MD5-sess' }).response).toBe('e783283f46242139c486a698fec7211d');
  expect(computeResponse({ ...RFC7616, algorithm: 'SHA-256-sess' }).response).toBe(
    '2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7',
  );
  expect(computeRspauth({ ...RFC7616, algorithm: 'MD5' }).rspauth).toBe('9b712497bc9f91499fbcca1dfc5f09a5');
  expect(computeRspauth({ ...RFC7616, algorithm: 'SHA-256' }).rspauth).toBe(
    '86d3b25618d41854ca5039a5d7e53ff6355d5134a9b1fb088a78ac3c462195a0',
  );
});

test('algorithm names are case-insensitive and absent means MD5 (RFC 2617 §3.2.1)', () => {
  expect(computeResponse({ ...RFC7616, algorithm: 'sha-256' }).response).toBe(
    '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  );
  expect(computeResponse({ ...RFC7616 }).response).toBe('8ca523f5e9506fed4657c9700eebdbec');
  expect(normalizeAlgorithm('sha-512-256-SESS')).toBe('SHA-512-256-sess');
  expect(normalizeAlgorithm('SHA-1')).toBeUndefined();
  expect(() => computeResponse({ ...RFC7616, algorithm: 'SHA-1' })).toThrow(expect.objectContaining({ code: 'ERR_DIGEST_ALGORITHM' }));
});

test('SHA-512-256 is the FIPS 180-4 SHA-512/256 (not truncated SHA-512)', () => {
  // FIPS 180-4 example / NIST CSRC value for SHA-512/256("abc").
  expect(digestHash('SHA-512-256', 'abc')).toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
  const r = computeResponse({ ...RFC7616, algorithm: 'SHA-512-256' });
  expect(r.response).toHaveLength(64);
  expect(r.ha1).toBe(digestHash('SHA-512-256', 'Mufasa:http-auth@example.org:Circle of Life'));
  expect(r.ha1).not.toBe(digestHash('SHA-256', 'Mufasa:http-auth@example.org:Circle of Life'));
});

const MBMS = {
  username: 'AbCdEf0123456789@bsf.example.com',
  realm: '3GPP-bootstrapping@bmsc.example.com',
  password: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  nonce: 'MTIzNDU2Nzg5MGFiY2RlZg==',
  cnonce: '0a4f113b',
  nc: '00000001',
  qop: 'auth-int',
  algorithm: 'MD5',
  method: 'POST',
  uri: '/keymanagement?requesttype=msk-request',
};
const REQUEST_BODY = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<mskRequest><keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>\n',
);
const RESPONSE_BODY = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<mskResponse><mskID>AAEAAQ==</mskID><status>200</status></mskResponse>\n',
);

test('protocol §8.2 MBMS auth-int example: every intermediate hash', () => {
  expect(REQUEST_BODY.length).toBe(119);
  expect(RESPONSE_BODY.length).toBe(110);
  expect(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex').toString('base64')).toBe(MBMS.password);
  const r = computeResponse({ ...MBMS, body: REQUEST_BODY });
  expect(r.ha1).toBe('cc01fe7ab37ad58945ec8757f997eb0f');
  expect(r.worksheet.hBody).toBe('007b52dfae88bdd361f0514ff5d3ed89');
  expect(r.ha2).toBe('830cc73d18118b2c5baf470604085e93');
  expect(r.response).toBe('8e51a095876e39b1a610116eb1c9ef5b');
  expect(r.worksheet.a2).toBe('POST:/keymanagement?requesttype=msk-request:007b52dfae88bdd361f0514ff5d3ed89');
  expect(r.worksheet.bodyLength).toBe(119);
  const s = computeRspauth({ ...MBMS, responseBody: RESPONSE_BODY });
  expect(s.worksheet.hBody).toBe('b82d23c4c4d59113273b30a32aaf637a');
  expect(s.ha2).toBe('4ffe1533afe4de73f8889ce51948def8');
  expect(s.rspauth).toBe('60be60326bdce503db6ecb9c17fbf296');
  // One flipped body byte changes the digest (auth-int covers the exact bytes).
  const tampered = Buffer.from(REQUEST_BODY);
  tampered[60] ^= 1;
  expect(computeResponse({ ...MBMS, body: tampered }).response).not.toBe('8e51a095876e39b1a610116eb1c9ef5b');
});

test('worksheet redacts the password unless asked and shows the KD input', () => {
  const r = computeResponse(RFC2617);
  expect(r.worksheet.a1).toBe('Mufasa:testrealm@host.com:<password>');
  expect(JSON.stringify(r.worksheet)).not.toContain('Circle Of Life');
  expect(r.worksheet.kdInput).toBe(
    '939e7578ed9e3c518a452acee763bce9:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:39aff3a2bab6126f332b942af96d3366',
  );
  expect(computeResponse({ ...RFC2617, revealSecrets: true }).worksheet.a1).toBe('Mufasa:testrealm@host.com:Circle Of Life');
  const sess = computeResponse({ ...RFC7616, algorithm: 'MD5-sess' });
  expect(sess.worksheet.a1).toBe(`H(Mufasa:http-auth@example.org:<password>):${RFC7616.nonce}:${RFC7616.cnonce}`);
  expect(sess.worksheet.ha1Base).toBe('3d78807defe7de2157e2b0b6573a855f');
});

test('no qop (RFC 2069 compatibility): response = KD(H(A1), nonce ":" H(A2))', () => {
  const { qop: _q, cnonce: _c, nc: _n, ...rest } = RFC2617;
  const r = computeResponse(rest);
  // RFC 2069 §2.1.2 style: H(H(A1) ":" nonce ":" H(A2)) with the RFC 2617 §3.5 inputs; value computed
  // independently with Python hashlib.
  expect(r.worksheet.kdInput).toBe('939e7578ed9e3c518a452acee763bce9:dcd98b7102dd2f0e8b11d0f600bfb0c093:39aff3a2bab6126f332b942af96d3366');
  expect(r.response).toBe('670fd8c2df070c60b045671b8b24ff02');
  expect(() => computeResponse({ ...rest, qop: 'auth' })).toThrow(expect.objectContaining({ code: 'ERR_DIGEST_INPUT' }));
});
