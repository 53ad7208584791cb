// The reference UE's MSK request against a small Digest-protected test server (protocol §2, §3; checks
// A-U1, A-U2, A-U5, A-U6 of §7.2): headers and directives, rspauth verification, stale, nextnonce, nc.
import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { buildMskRequestBody, mskRequestTarget, realm } from '../../mbms/index.ts';
import { DOMAIN, MSK_1, startUe, type UeFixture } from './fixture.ts';
import { TEST_BTID, TEST_NAF_FQDN } from './test-harness.ts';

const keys = [{ keyDomainId: DOMAIN, mskId: MSK_1 }];
let f: UeFixture;
test.afterEach(async () => { await f.close(); });

test('first request: POST to the profile URI with the 3gpp-gba User-Agent, then a correct auth-int answer (A-U1)', async () => {
  f = await startUe({ server: {} });
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 200, accepted: true, rspauthValid: true, exchanges: 2, bootstrapRequired: false });
  expect(outcome.results).toEqual([{ mskId: MSK_1, status: 200 }]);
  const [first, second] = f.server!.requests;
  const target = mskRequestTarget(f.profile);
  for (const r of [first!, second!]) {
    expect(r.method).toBe('POST');
    expect(r.target).toBe('/keymanagement?requesttype=msk-request');
    expect(r.headers['user-agent']).toMatch(/(^|\s)3gpp-gba(\s|$)/);
    expect(r.headers['content-type']).toBe('application/mbms-msk+xml');
    expect(r.body.toString()).toBe(buildMskRequestBody(keys, f.profile));
  }
  expect(first!.headers.authorization).toBeUndefined();
  expect(second!.outcome).toBe('ok');
  expect(second!.credentials).toMatchObject({
    username: TEST_BTID, realm: realm(TEST_NAF_FQDN), uri: target, qop: 'auth-int', nc: '00000001', algorithm: 'MD5',
  });
  expect(second!.credentials!.cnonce).toBeTruthy();
  // Independent recomputation of the response (RFC 2617 §3.2.2) with node:crypto.
  const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
  const c = second!.credentials!;
  const ha1 = md5(`${TEST_BTID}:${realm(TEST_NAF_FQDN)}:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=`);
  const ha2 = md5(`POST:${target}:${md5(second!.body)}`);
  expect(c.response).toBe(md5(`${ha1}:${c.nonce}:${c.nc}:${c.cnonce}:auth-int:${ha2}`));
});

test('next request reuses the nonce with nc=00000002, no new challenge (RFC 2617 §3.2.2)', async () => {
  f = await startUe({ server: {} });
  await f.ue.requestMsks(keys);
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ accepted: true, exchanges: 1 });
  const third = f.server!.requests[2]!;
  expect(third.credentials?.nonce).toBe(f.server!.requests[1]!.credentials?.nonce);
  expect(third.credentials?.nc).toBe('00000002');
});

test('stale=true: retries with the new nonce and the same B-TID, no re-bootstrapping (A-U5)', async () => {
  f = await startUe({ server: {} });
  await f.ue.requestMsks(keys);
  f.server!.expireNonces();
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 200, accepted: true, exchanges: 2, bootstrapRequired: false });
  const [, , stale, retry] = f.server!.requests;
  expect([stale!.status, stale!.outcome]).toEqual([401, 'stale']);
  expect(retry!.credentials).toMatchObject({ username: TEST_BTID, nc: '00000001' });
  expect(retry!.credentials!.nonce).not.toBe(stale!.credentials!.nonce);
});

test('401 without stale after credentials: bootstrapping required, no blind retry (A-U5)', async () => {
  f = await startUe({ server: {}, ksNaf: Buffer.alloc(32, 0x5a) });
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 401, accepted: false, bootstrapRequired: true, exchanges: 2 });
  expect(f.server!.requests.map((r) => r.outcome)).toEqual(['missing', 'bad-response']);
});

test('nextnonce: the next request uses it with nc=00000001 and needs no challenge (A-U6)', async () => {
  f = await startUe({ server: { nextnonce: true } });
  await f.ue.requestMsks(keys);
  const announced = /nextnonce="([^"]+)"/.exec(f.server!.requests[1]!.authenticationInfo ?? '')?.[1];
  expect(announced).toBeTruthy();
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ accepted: true, exchanges: 1 });
  expect(f.server!.requests[2]!.credentials).toMatchObject({ nonce: announced, nc: '00000001' });
});

test('wrong rspauth: the response is rejected and its nextnonce is not trusted (A-U2)', async () => {
  f = await startUe({ server: { rspauth: '0'.repeat(32), forcedNextnonce: 'Zm9yZ2Vk' } });
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 200, accepted: false, rspauthValid: false, results: [] });
  await f.ue.requestMsks(keys);
  expect(f.server!.requests[2]!.credentials?.nonce).not.toBe('Zm9yZ2Vk');
});

test('a challenge whose realm is not the BM-SC\'s GBA realm is not answered (O6)', async () => {
  f = await startUe({ server: {}, nafFqdn: 'other.example.com' });
  const outcome = await f.ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 401, accepted: false, exchanges: 1 });
  expect(outcome.problem).toMatch(/realm/);
  expect(f.server!.requests).toHaveLength(1);
});

test('a kept-alive connection the server dropped is replaced: the request is sent again on a new connection', async () => {
  const { createServer } = await import('node:http');
  const { DigestServer } = await import('../../digest/index.ts');
  const { buildMskResponseBody, digestPassword, referenceProfile } = await import('../../mbms/index.ts');
  const { TEST_KS_NAF } = await import('./test-harness.ts');
  const profile = referenceProfile();
  const digest = new DigestServer({ realm: realm(TEST_NAF_FQDN), qop: ['auth-int'], lookupPassword: () => digestPassword(TEST_KS_NAF) });
  const served = new WeakMap<object, number>();
  const connections = new Set<object>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      connections.add(req.socket);
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      // Every connection serves one request; a second one on it is cut without an answer (like a restart).
      if (count > 1) { req.socket.destroy(); return; }
      const verdict = digest.verify({ method: req.method!, uri: req.url!, authorization: req.headers.authorization, body: Buffer.concat(chunks) });
      if (verdict.status !== 200) { res.writeHead(verdict.status, { 'WWW-Authenticate': verdict.wwwAuthenticate! }); res.end(); return; }
      const body = Buffer.from(buildMskResponseBody([{ mskId: MSK_1, status: 200 }], profile));
      res.writeHead(200, { 'Content-Type': profile.http.responseContentType, 'Authentication-Info': digest.authenticationInfo(verdict.credentials!, { responseBody: body }) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const { ReferenceUe } = await import('./ue.ts');
  const ue = new ReferenceUe({ btid: TEST_BTID, ksNaf: TEST_KS_NAF.toString('hex'), bmscUrl: `http://127.0.0.1:${port}`, nafFqdn: TEST_NAF_FQDN, mikey: { address: '127.0.0.1', port: 0 }, control: null, profile });
  await ue.start();
  f = { close: async () => { await ue.stop(); await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }); } } as UeFixture;
  const outcome = await ue.requestMsks(keys);
  expect(outcome).toMatchObject({ httpStatus: 200, accepted: true, exchanges: 2 });
  expect(connections.size).toBe(2);
});
