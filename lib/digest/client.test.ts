// DigestClient behaviour (RFC 2617 §3.2.1-3.2.3, RFC 7616 §3.4, §3.7) and server Authentication-Info faults.
import { test, expect } from '@playwright/test';
import { DigestClient, DigestServer, parseAuthenticationInfo, parseCredentials } from './index.ts';

const RFC2617_CHALLENGE =
  'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

test('answers the RFC 2617 §3.5 challenge with the published response', () => {
  const client = new DigestClient({ username: 'Mufasa', password: 'Circle Of Life', cnonce: () => '0a4f113b', preferQop: 'auth' });
  const header = client.authorize(RFC2617_CHALLENGE, { method: 'GET', uri: '/dir/index.html' });
  expect(parseCredentials(header, { strict: true })).toEqual({
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    uri: '/dir/index.html',
    qop: 'auth',
    nc: '00000001',
    cnonce: '0a4f113b',
    response: '6629fae49393a05397450978507c4ef1',
    opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    extra: {},
  });
  expect(client.verifyAuthenticationInfo('qop=auth, rspauth="376602cfd2f4e8e5e78b948a85263e85", cnonce="0a4f113b", nc=00000001', {
    responseBody: Buffer.alloc(0),
  })).toMatchObject({ valid: true });
});

test('prefers auth-int when offered, falls back to the offered qop', () => {
  const client = new DigestClient({ username: 'u', password: 'p' });
  expect(parseCredentials(client.authorize(RFC2617_CHALLENGE, { method: 'POST', uri: '/', body: Buffer.from('x') })).qop).toBe('auth-int');
  const authOnly = client.authorize('Digest realm="r", nonce="n", qop="auth"', { method: 'POST', uri: '/' });
  expect(parseCredentials(authOnly).qop).toBe('auth');
  const none = parseCredentials(client.authorize('Digest realm="r", nonce="n2"', { method: 'GET', uri: '/' }));
  expect(none.qop).toBeUndefined();
  expect(none.nc).toBeUndefined();
  expect(none.cnonce).toBeUndefined();
});

test('nc counts per nonce in 8 lower-case hex digits and restarts on a new nonce', () => {
  const client = new DigestClient({ username: 'u', password: 'p' });
  const ncs: string[] = [];
  client.accept('Digest realm="r", nonce="n1", qop="auth"');
  for (let i = 0; i < 11; i++) ncs.push(parseCredentials(client.authorize(undefined, { method: 'GET', uri: '/' })).nc!);
  expect(ncs.slice(8)).toEqual(['00000009', '0000000a', '0000000b']);
  expect(parseCredentials(client.authorize('Digest realm="r", nonce="n2", qop="auth", stale=true', { method: 'GET', uri: '/' })).nc).toBe('00000001');
  // Back to a nonce already used: its counter continues.
  expect(parseCredentials(client.authorize('Digest realm="r", nonce="n1", qop="auth"', { method: 'GET', uri: '/' })).nc).toBe('0000000c');
});

test('skips challenges with unknown algorithms or qop (RFC 2617 §3.2.1) and echoes algorithm/opaque', () => {
  const client = new DigestClient({ username: 'u', password: 'p' });
  const header = 'Digest realm="r", nonce="a", algorithm=SHA-1, Digest realm="r", nonce="b", qop="auth-conf", Digest realm="r", nonce="c", algorithm=sha-256, opaque="o", qop="auth"';
  const cred = parseCredentials(client.authorize(header, { method: 'GET', uri: '/' }));
  expect(cred).toMatchObject({ nonce: 'c', algorithm: 'sha-256', opaque: 'o' });
  expect(cred.response).toHaveLength(64);
  expect(() => client.authorize('Digest realm="r", nonce="a", algorithm=SHA-1', { method: 'GET', uri: '/' })).toThrow(
    expect.objectContaining({ code: 'ERR_DIGEST_CLIENT' }),
  );
  expect(() => new DigestClient({ username: 'u', password: 'p' }).authorize(undefined, { method: 'GET', uri: '/' })).toThrow(
    expect.objectContaining({ code: 'ERR_DIGEST_CLIENT' }),
  );
});

test('fault options change only what they name', () => {
  const client = new DigestClient({ username: 'u', password: 'p', cnonce: () => 'cn' });
  client.accept(RFC2617_CHALLENGE);
  const good = client.authorizeDetailed(undefined, { method: 'GET', uri: '/a' });
  const bad = client.authorizeDetailed(undefined, { method: 'GET', uri: '/a' }, { nc: '00000001', uri: '/b', response: 'ff' });
  expect(bad.credentials).toMatchObject({ nc: '00000001', uri: '/b', response: 'ff', cnonce: 'cn', opaque: good.credentials.opaque });
  // The override did not advance the client's own counter.
  expect(client.authorizeDetailed(undefined, { method: 'GET', uri: '/a' }).credentials.nc).toBe('00000002');
  const omitted = client.authorizeDetailed(undefined, { method: 'GET', uri: '/a' }, { opaque: null, cnonce: null, algorithm: 'MD5' }).credentials;
  expect(omitted.opaque).toBeUndefined();
  expect(omitted.cnonce).toBeUndefined();
  expect(omitted.algorithm).toBe('MD5');
});

test('server Authentication-Info faults are each caught by the client', () => {
  const server = new DigestServer({ realm: 'r', qop: ['auth-int'], lookupPassword: () => 'p' });
  const body = Buffer.from('<mskResponse/>');
  const cases = [
    { faults: { rspauth: null }, reason: 'rspauth missing' },
    { faults: { rspauth: '0'.repeat(32) }, reason: 'rspauth' },
    { faults: { qop: 'auth' }, reason: 'qop' },
    { faults: { cnonce: 'x' }, reason: 'cnonce' },
    { faults: { nc: null }, reason: 'nc' },
    { faults: { responseBodyForDigest: Buffer.from('<mskResponse />') }, reason: 'rspauth' },
    { faults: { password: 'q' }, reason: 'rspauth' },
  ];
  for (const { faults, reason } of cases) {
    const client = new DigestClient({ username: 'u', password: 'p' });
    const r = server.verify({ method: 'POST', uri: '/', authorization: client.authorize(server.challenge(), { method: 'POST', uri: '/' }), body: Buffer.alloc(0) });
    expect(r.outcome).toBe('ok');
    expect(r.worksheet!.result).toBe(r.credentials!.response);
    const detailed = server.authenticationInfoDetailed(r.credentials!, { responseBody: body, faults });
    expect(parseAuthenticationInfo(detailed.header)).toEqual({ ...detailed.info, extra: {} });
    const check = client.verifyAuthenticationInfo(detailed.header, { responseBody: body });
    expect(check.valid, JSON.stringify(faults)).toBe(false);
    expect(check.reason).toContain(reason);
    // Without faults the same exchange verifies.
    expect(client.verifyAuthenticationInfo(server.authenticationInfo(r.credentials!, { responseBody: body }), { responseBody: body }).valid).toBe(true);
  }
});

test('userhash (RFC 7616 §3.4.4): client sends H(username:realm), server resolves it', () => {
  const server = new DigestServer({
    realm: 'http-auth@example.org',
    qop: ['auth'],
    algorithm: 'SHA-256',
    userhash: true,
    users: () => ['Alice', 'Mufasa'],
    lookupPassword: (u) => ({ Alice: 'x', Mufasa: 'Circle of Life' })[u],
  });
  const www = server.challenge();
  expect(www).toContain('userhash=true');
  const client = new DigestClient({ username: 'Mufasa', password: 'Circle of Life' });
  const sent = client.authorizeDetailed(www, { method: 'GET', uri: '/dir/index.html' });
  // SHA-256("Mufasa:http-auth@example.org"), computed independently with Python hashlib.
  expect(sent.credentials).toMatchObject({ username: 'a947aad205e80e429958a387394944c6b496301e79f89d35a4cc23b6ee12b5b6', userhash: true });
  const r = server.verify({ method: 'GET', uri: '/dir/index.html', authorization: sent.header, body: Buffer.alloc(0) });
  expect(r).toMatchObject({ outcome: 'ok', username: 'Mufasa' });
  const body = Buffer.from('ok');
  expect(client.verifyAuthenticationInfo(server.authenticationInfo(r.credentials!, { responseBody: body }), { responseBody: body }).valid).toBe(true);
  // A hash of nobody listed is an unknown user.
  const stranger = new DigestClient({ username: 'Eve', password: 'x' });
  expect(server.verify({ method: 'GET', uri: '/', authorization: stranger.authorize(server.challenge(), { method: 'GET', uri: '/' }), body: Buffer.alloc(0) }).outcome).toBe(
    'unknown-user',
  );
  // Clients may decline userhash; plain names stay accepted.
  const plain = new DigestClient({ username: 'Mufasa', password: 'Circle of Life', userhash: false });
  const p = plain.authorizeDetailed(server.challenge(), { method: 'GET', uri: '/' });
  expect(p.credentials.username).toBe('Mufasa');
  expect(server.verify({ method: 'GET', uri: '/', authorization: p.header, body: Buffer.alloc(0) }).outcome).toBe('ok');
});
