// Whatever arrives on the MSK request port, the BM-SC answers 4xx, never 5xx, and never sends a key
// without valid credentials (protocol §7.1 A-B6, A-B7, A-B13). Property-based: random bodies, media types
// and Authorization values, including well-formed Digest credentials with random values.
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { buildMskRequestBody, mskId, referenceProfile } from '../../mbms/index.ts';
import { ReferenceBmsc } from './index.ts';
import { TestUdp, postMsk } from './test-ue.ts';

const KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const BTID = 'AbCdEf0123456789@bsf.example.com';
const DOMAIN = Buffer.from('00f110', 'hex');

test('random requests never get a 200, a 5xx or a MIKEY message', async () => {
  const profile = referenceProfile();
  const ue = await TestUdp.open();
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.example.com', profile,
    users: [{ btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ue.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] }],
  });
  const sent: unknown[] = [];
  bmsc.on('mikey-out', (e) => sent.push(e));
  const { http } = await bmsc.start();
  const validBody = Buffer.from(buildMskRequestBody([{ keyDomainId: DOMAIN, mskId: mskId(1, 1) }], profile));
  const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
  const digestHeader = fc.record({
    username: fc.oneof(fc.constant(BTID), fc.string()),
    realm: fc.oneof(fc.constant('3GPP-bootstrapping@bmsc.example.com'), fc.string()),
    nonce: fc.base64String(),
    uri: fc.oneof(fc.constant('/keymanagement?requesttype=msk-request'), fc.string()),
    qop: fc.constantFrom('auth-int', 'auth', 'bogus'),
    nc: hex(8),
    cnonce: hex(16),
    response: hex(32),
  }).map((d) => `Digest username="${d.username.replace(/["\\]/g, '')}", realm="${d.realm.replace(/["\\]/g, '')}", nonce="${d.nonce}", ` +
    `uri="${d.uri.replace(/["\\]/g, '')}", qop=${d.qop}, nc=${d.nc}, cnonce="${d.cnonce}", response="${d.response}"`);
  try {
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.constant(validBody), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))),
      fc.oneof(fc.constant(profile.http.requestContentType), fc.constantFrom('text/xml', 'application/json', '')),
      fc.option(fc.oneof(digestHeader, fc.string({ maxLength: 200 }).map((s) => s.replace(/[\r\n\0]/g, ''))), { nil: undefined }),
      async (body, contentType, authorization) => {
        let reply;
        try {
          reply = await postMsk(http, profile, { body, contentType: contentType || 'application/octet-stream', ...(authorization ? { authorization } : {}) });
        } catch (error) {
          // fetch refuses some header values before sending (invalid characters): nothing reached the BM-SC.
          if (error instanceof TypeError) return;
          throw error;
        }
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
      },
    ), { numRuns: 150 });
    expect(await ue.collect(profile.timers.silenceMs)).toEqual([]);
    expect(sent).toEqual([]);
  } finally {
    await bmsc.stop();
    await ue.close();
  }
});

test('an oversized body is refused with 413 before any Digest work', async () => {
  const profile = referenceProfile();
  const bmsc = new ReferenceBmsc({ nafFqdn: 'bmsc.example.com', profile });
  const { http } = await bmsc.start();
  try {
    const reply = await postMsk(http, profile, { body: Buffer.alloc(200 * 1024, 0x41) });
    expect(reply.status).toBe(413);
    // The server is still serving afterwards.
    expect((await postMsk(http, profile, { body: Buffer.from('<x/>') })).status).toBe(401);
  } finally { await bmsc.stop(); }
});
