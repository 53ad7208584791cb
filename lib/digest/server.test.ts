// DigestServer rules (RFC 2617 §3.2.1-3.2.3, RFC 7616 §3.3-3.5): one negative test per rule.
import { test, expect } from '@playwright/test';
import { DigestClient, DigestServer, parseAuthenticationInfo, parseChallenges } from './index.ts';
import type { DigestServerOptions } from './index.ts';

const USER = 'AbCdEf0123456789@bsf.example.com';
const PASSWORD = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const REALM = '3GPP-bootstrapping@bmsc.example.com';
const URI = '/keymanagement?requesttype=msk-request';
const BODY = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<mskRequest><keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>\n');

function setup(over: Partial<DigestServerOptions> = {}, preferQop: 'auth' | 'auth-int' = 'auth-int') {
  let clock = 1_000_000;
  const server = new DigestServer({
    realm: REALM,
    qop: ['auth-int', 'auth'],
    algorithm: 'MD5',
    nonceTtlMs: 30_000,
    opaque: true,
    lookupPassword: (u) => (u === USER ? PASSWORD : undefined),
    now: () => clock,
    ...over,
  });
  const client = new DigestClient({ username: USER, password: PASSWORD, preferQop });
  return {
    server,
    client,
    advance: (ms: number) => {
      clock += ms;
    },
    verify: (authorization: string | undefined, method = 'POST', uri = URI, body = BODY) =>
      server.verify({ method, uri, authorization, body }),
  };
}

test('RFC 2617 §3.5 Authorization header (published text) is accepted', () => {
  const server = new DigestServer({
    realm: 'testrealm@host.com',
    qop: ['auth', 'auth-int'],
    lookupPassword: (u) => (u === 'Mufasa' ? 'Circle Of Life' : undefined),
    newNonce: () => 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    newOpaque: () => '5ccc069c403ebaf9f0171e9517f40e41',
  });
  const www = server.challenge();
  expect(parseChallenges(www)[0]).toMatchObject({ realm: 'testrealm@host.com', qop: ['auth', 'auth-int'], nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' });
  const authorization = `Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`;
  const r = server.verify({ method: 'GET', uri: '/dir/index.html', authorization, body: Buffer.alloc(0) });
  expect(r).toMatchObject({ outcome: 'ok', status: 200, username: 'Mufasa' });
  const info = parseAuthenticationInfo(server.authenticationInfo(r.credentials!, { responseBody: Buffer.alloc(0) }));
  // protocol §8.1 rspauth for this exchange.
  expect(info).toMatchObject({ qop: 'auth', rspauth: '376602cfd2f4e8e5e78b948a85263e85', cnonce: '0a4f113b', nc: '00000001' });
  // The same digest with the wrong method fails.
  expect(server.verify({ method: 'POST', uri: '/dir/index.html', authorization, body: Buffer.alloc(0) }).outcome).toBe('bad-response');
});

test('missing Authorization -> 401 with a fresh challenge', () => {
  const { verify } = setup();
  const r = verify(undefined);
  expect(r).toMatchObject({ outcome: 'missing', status: 401 });
  const [c] = parseChallenges(r.wwwAuthenticate!);
  expect(c).toMatchObject({ realm: REALM, qop: ['auth-int', 'auth'], algorithm: 'MD5' });
  expect(c!.stale).toBeUndefined();
  expect(Buffer.from(c!.nonce, 'base64')).toHaveLength(24);
  expect(c!.opaque).toBeTruthy();
});

test('valid auth-int request -> 200; nc 00000002 on the same nonce -> 200', () => {
  const { server, client, verify } = setup();
  const www = server.challenge();
  expect(verify(client.authorize(www, { method: 'POST', uri: URI, body: BODY }))).toMatchObject({ outcome: 'ok', status: 200, username: USER });
  const second = client.authorize(undefined, { method: 'POST', uri: URI, body: BODY });
  expect(second).toContain('nc=00000002');
  expect(verify(second).outcome).toBe('ok');
});

test('expired nonce with a correct digest -> 401 stale=true', () => {
  const { server, client, verify, advance } = setup();
  const auth = client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY });
  advance(30_000);
  const r = verify(auth);
  expect(r).toMatchObject({ outcome: 'stale', status: 401 });
  expect(parseChallenges(r.wwwAuthenticate!)[0]!.stale).toBe(true);
  // Retrying with the new nonce and the same credentials succeeds (RFC 2617 §3.2.1).
  expect(verify(client.authorize(r.wwwAuthenticate!, { method: 'POST', uri: URI, body: BODY })).outcome).toBe('ok');
});

test('expired nonce with a wrong digest -> 401 without stale', () => {
  const { server, client, verify, advance } = setup();
  const auth = client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { password: 'wrong' });
  advance(31_000);
  const r = verify(auth);
  expect(r).toMatchObject({ outcome: 'bad-response', status: 401 });
  expect(parseChallenges(r.wwwAuthenticate!)[0]!.stale).toBeUndefined();
});

test('nonce still valid just before the TTL', () => {
  const { server, client, verify, advance } = setup();
  const auth = client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY });
  advance(29_999);
  expect(verify(auth).outcome).toBe('ok');
});

test('replayed request (same nc) -> 401 replay', () => {
  const { server, client, verify } = setup();
  const auth = client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY });
  expect(verify(auth).outcome).toBe('ok');
  const r = verify(auth);
  expect(r).toMatchObject({ outcome: 'replay', status: 401 });
  expect(r.reason).toContain('replayed');
});

test('nc not increasing -> 401 replay', () => {
  const { server, client, verify } = setup();
  const www = server.challenge();
  expect(verify(client.authorize(www, { method: 'POST', uri: URI, body: BODY })).outcome).toBe('ok');
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { nc: '00000005' })).outcome).toBe('ok');
  const r = verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { nc: '00000003' }));
  expect(r).toMatchObject({ outcome: 'replay', status: 401 });
  expect(r.reason).toContain('not above');
});

test('one-time nonce: second use -> 401 replay', () => {
  const { server, client, verify } = setup({ oneTimeNonce: true });
  expect(verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY })).outcome).toBe('ok');
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY })).outcome).toBe('replay');
});

test('uri directive differs from request-target -> 400 (RFC 2617 §3.2.2.5)', () => {
  const { server, client, verify } = setup();
  const auth = client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { uri: '/keymanagement' });
  const r = verify(auth);
  expect(r).toMatchObject({ outcome: 'uri-mismatch', status: 400 });
  expect(r.wwwAuthenticate).toBeUndefined();
});

test('realm mismatch -> 401', () => {
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { realm: '3GPP-bootstrapping@other.example.com' }));
  expect(r).toMatchObject({ outcome: 'realm-mismatch', status: 401 });
});

test('qop not offered -> 400', () => {
  const { server, client, verify } = setup({ qop: ['auth'] });
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { qop: 'auth-int' }));
  expect(r).toMatchObject({ outcome: 'qop', status: 400 });
});

test('qop missing when offered -> 400', () => {
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { qop: null, nc: null, cnonce: null }));
  expect(r).toMatchObject({ outcome: 'qop', status: 400 });
});

test('opaque not echoed or altered -> 400', () => {
  const { server, client, verify } = setup();
  const www = server.challenge();
  expect(verify(client.authorize(www, { method: 'POST', uri: URI, body: BODY }, { opaque: null }))).toMatchObject({ outcome: 'opaque', status: 400 });
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { opaque: 'AAAA' }))).toMatchObject({ outcome: 'opaque', status: 400 });
});

test('algorithm not echoed as challenged -> 400', () => {
  const { server, client, verify } = setup({ algorithm: 'SHA-256' });
  const www = server.challenge();
  expect(verify(client.authorize(www, { method: 'POST', uri: URI, body: BODY })).outcome).toBe('ok');
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { algorithm: 'MD5' }))).toMatchObject({ outcome: 'algorithm', status: 400 });
  // Absent algorithm means MD5, which differs from SHA-256.
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { algorithm: null })).outcome).toBe('algorithm');
});

test('qop without cnonce or nc, and cnonce/nc without qop -> 400', () => {
  const { server, client, verify } = setup();
  const www = server.challenge();
  expect(verify(client.authorize(www, { method: 'POST', uri: URI, body: BODY }, { cnonce: null }))).toMatchObject({ outcome: 'directives', status: 400 });
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { nc: null }))).toMatchObject({ outcome: 'directives', status: 400 });
  expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY }, { nc: '1' })).reason).toContain('8 hex digits');
  const { server: plain, client: c2, verify: v2 } = setup({ qop: [] });
  expect(v2(c2.authorize(plain.challenge(), { method: 'POST', uri: URI, body: BODY }, { cnonce: 'abc' }))).toMatchObject({ outcome: 'directives', status: 400 });
});

test('wrong password -> 401 without stale', () => {
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { password: 'AAAA' }));
  expect(r).toMatchObject({ outcome: 'bad-response', status: 401 });
  expect(parseChallenges(r.wwwAuthenticate!)[0]!.stale).toBeUndefined();
});

test('unknown user -> 401', () => {
  const { server, verify } = setup();
  const other = new DigestClient({ username: 'nobody@bsf.example.com', password: PASSWORD });
  expect(verify(other.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }))).toMatchObject({ outcome: 'unknown-user', status: 401 });
});

test('tampered body under auth-int -> 401; the same tampering under auth is not detected', () => {
  const tampered = Buffer.from(BODY);
  tampered[70] ^= 0x20;
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { bodyForDigest: tampered }));
  expect(r).toMatchObject({ outcome: 'bad-response', status: 401 });
  const a = setup({ qop: ['auth'] }, 'auth');
  expect(a.verify(a.client.authorize(a.server.challenge(), { method: 'POST', uri: URI, body: BODY }, { bodyForDigest: tampered })).outcome).toBe('ok');
});

test('malformed Authorization -> 400 naming the directive; other scheme -> 401', () => {
  const { verify } = setup();
  const r = verify('Digest username="x", realm="y", nonce="z", uri="/", response="abc');
  expect(r).toMatchObject({ outcome: 'malformed', status: 400 });
  expect(r.parseError).toMatchObject({ code: 'ERR_DIGEST_PARSE', directive: 'response' });
  expect(verify('Digest username="x", realm="y", nonce="z", uri="/"').parseError).toMatchObject({ directive: 'response' });
  expect(verify('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toMatchObject({ outcome: 'scheme', status: 401 });
});

test('nonce never issued, digest correct -> 401 stale=true; forged digest -> 401 without stale', () => {
  const { server, client, verify } = setup();
  server.challenge();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }, { nonce: 'bm90LWlzc3VlZA==' }));
  expect(r).toMatchObject({ outcome: 'unknown-nonce', status: 401 });
  expect(parseChallenges(r.wwwAuthenticate!)[0]!.stale).toBe(true);
});

test('no-qop (RFC 2069) mode: digest checked, Authentication-Info without qop', () => {
  const { server, client, verify } = setup({ qop: [], opaque: false });
  const www = server.challenge();
  expect(parseChallenges(www)[0]!.qop).toBeUndefined();
  const auth = client.authorize(www, { method: 'GET', uri: '/x' });
  expect(auth).not.toContain('nc=');
  expect(auth).not.toContain('cnonce=');
  const r = verify(auth, 'GET', '/x', Buffer.alloc(0));
  expect(r.outcome).toBe('ok');
  const info = server.authenticationInfo(r.credentials!, { responseBody: Buffer.from('ok') });
  expect(parseAuthenticationInfo(info).qop).toBeUndefined();
  expect(client.verifyAuthenticationInfo(info, { responseBody: Buffer.from('ok') }).valid).toBe(true);
});

for (const algorithm of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const) {
  test(`client and server agree for ${algorithm} auth-int, rspauth over the response body`, () => {
    const { server, client, verify } = setup({ algorithm });
    const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }));
    expect(r.outcome).toBe('ok');
    const responseBody = Buffer.from('<mskResponse/>');
    const info = server.authenticationInfo(r.credentials!, { responseBody });
    expect(client.verifyAuthenticationInfo(info, { responseBody })).toMatchObject({ valid: true });
    expect(client.verifyAuthenticationInfo(info, { responseBody: Buffer.from('<mskResponse />') }).valid).toBe(false);
    // Second request on the same nonce (-sess keeps its A1 cnonce).
    expect(verify(client.authorize(undefined, { method: 'POST', uri: URI, body: BODY })).outcome).toBe('ok');
  });
}

test('nextnonce: client switches nonce and restarts nc at 00000001', () => {
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }));
  const info = server.authenticationInfo(r.credentials!, { responseBody: Buffer.alloc(0), nextnonce: true });
  const parsed = parseAuthenticationInfo(info);
  expect(parsed.nextnonce).toBeTruthy();
  expect(parsed).toMatchObject({ qop: 'auth-int', cnonce: r.credentials!.cnonce, nc: '00000001' });
  expect(client.verifyAuthenticationInfo(info, { responseBody: Buffer.alloc(0) })).toMatchObject({ valid: true, nextnonce: parsed.nextnonce });
  const next = client.authorizeDetailed(undefined, { method: 'POST', uri: URI, body: BODY });
  expect(next.credentials).toMatchObject({ nonce: parsed.nextnonce, nc: '00000001' });
  expect(verify(next.header).outcome).toBe('ok');
});

test('client rejects Authentication-Info with wrong echoes or rspauth', () => {
  const { server, client, verify } = setup();
  const r = verify(client.authorize(server.challenge(), { method: 'POST', uri: URI, body: BODY }));
  const body = Buffer.from('x');
  const good = parseAuthenticationInfo(server.authenticationInfo(r.credentials!, { responseBody: body }));
  expect(client.verifyAuthenticationInfo(undefined, { responseBody: body }).valid).toBe(false);
  expect(client.verifyAuthenticationInfo(`qop=auth-int, rspauth="${good.rspauth}", cnonce="other", nc=00000001`, { responseBody: body }).reason).toContain('cnonce');
  expect(client.verifyAuthenticationInfo(`qop=auth-int, rspauth="${good.rspauth}", cnonce="${good.cnonce}", nc=00000002`, { responseBody: body }).reason).toContain('nc');
  expect(client.verifyAuthenticationInfo(`qop=auth, rspauth="${good.rspauth}", cnonce="${good.cnonce}", nc=00000001`, { responseBody: body }).reason).toContain('qop');
  expect(client.verifyAuthenticationInfo(`qop=auth-int, rspauth="${'0'.repeat(32)}", cnonce="${good.cnonce}", nc=00000001, nextnonce="evil"`, { responseBody: body })).toMatchObject({ valid: false });
  // An invalid rspauth must not make the client adopt the nextnonce.
  expect(client.currentNonce).toBe(r.credentials!.nonce);
});

test('property: any Authorization value yields 400 or 401, never a throw or a 200', async () => {
  const fc = (await import('fast-check')).default;
  const { server, client } = setup();
  const www = server.challenge();
  const valid = client.authorize(www, { method: 'POST', uri: URI, body: BODY });
  // Consume the valid header once: a mutation that keeps the digest valid (e.g. extra whitespace, a
  // dropped algorithm=MD5) is then a replay, so no mutation can be accepted.
  expect(server.verify({ method: 'POST', uri: URI, authorization: valid, body: BODY }).outcome).toBe('ok');
  // Mutations of a valid header: character edits keep the grammar close to real traffic.
  const mutated = fc
    .tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: valid.length }), fc.string({ unit: fc.constantFrom(...'"\\,= aZ09'.split('')), maxLength: 4 }))
    .map(([from, len, insert]) => valid.slice(0, from) + insert + valid.slice(Math.min(valid.length, from + len)))
    .filter((s) => s !== valid);
  fc.assert(
    fc.property(fc.oneof(mutated, fc.string({ maxLength: 80 })), (authorization) => {
      const r = server.verify({ method: 'POST', uri: URI, authorization, body: BODY });
      expect([400, 401]).toContain(r.status);
      expect(r.outcome).not.toBe('ok');
      if (r.status === 401) expect(r.wwwAuthenticate).toBeTruthy();
    }),
    { numRuns: 500 },
  );
});
