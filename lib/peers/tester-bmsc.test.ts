// Tests of the tester BM-SC (UE under test): its HTTP answers over real loopback sockets, checked against the
// protocol §8.2 known answers (rspauth 60be6032..., the 110-octet MSK response body) rather than against the
// code that computes them, and its MIKEY messages and corruptions, checked octet by octet with node:crypto HMAC
// and the strict decoder.

import { test, expect } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuthenticationInfo, parseChallenges } from '../digest/index.ts';
import { defaultProfile, parseMskResponseBody, type MbmsProfile } from '../mbms/index.ts';
import {
  EncrAlg, MacAlg, MikeyDecodeError, decodeMikey, decodeMikeyLenient, deriveMessageKeys, findPayload, readKeyMessage,
} from '../mikey/index.ts';
import { LiveTrace } from '../trace/index.ts';
import { TesterBmsc } from './tester-bmsc.ts';
import { BmscMikeyComposer, MIKEY_CORRUPTIONS, UNKNOWN_KEY_DOMAIN, type ComposedMikey } from './tester-bmsc-mikey.ts';

// Protocol §8.2 inputs and known answers.
const BTID = 'AbCdEf0123456789@bsf.example.com';
const KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const FQDN = 'bmsc.example.com';
const REQUEST_BODY = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<mskRequest><keyDomainID>APEQ</keyDomainID><mskID>AAEAAQ==</mskID></mskRequest>\n', 'utf8');
const RESPONSE_BODY = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<mskResponse><mskID>AAEAAQ==</mskID><status>200</status></mskResponse>\n', 'utf8');
const AUTHORIZATION_82 = 'Digest username="AbCdEf0123456789@bsf.example.com", realm="3GPP-bootstrapping@bmsc.example.com", '
  + 'nonce="MTIzNDU2Nzg5MGFiY2RlZg==", uri="/keymanagement?requesttype=msk-request", qop=auth-int, nc=00000001, '
  + 'cnonce="0a4f113b", response="8e51a095876e39b1a610116eb1c9ef5b", algorithm=MD5';
const RSPAUTH_82 = '60be60326bdce503db6ecb9c17fbf296';
const DOMAIN = Buffer.from('00f110', 'hex');

function newTrace(): LiveTrace {
  const dir = mkdtempSync(join(tmpdir(), 'tester-bmsc-'));
  return new LiveTrace({ pcapPath: join(dir, 'case.pcap'), testerRole: 'bmsc' });
}

async function startBmsc(profile: MbmsProfile = defaultProfile()): Promise<{ bmsc: TesterBmsc; trace: LiveTrace }> {
  const trace = newTrace();
  const bmsc = await TesterBmsc.start({ trace, bindAddress: '127.0.0.1', httpPort: 0, mikeyPort: 0 });
  bmsc.configure({
    identity: { btid: BTID, ksNaf: KS_NAF }, nafFqdn: FQDN, profile,
    services: [{ keyDomainId: DOMAIN, mskIds: [0x00010001] }], ueMikey: { address: '127.0.0.1', port: 9 },
  });
  return { bmsc, trace };
}

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

/** One POST of the §8.2 body from a plain node:http client (a different HTTP stack than the tester's). */
function post(bmsc: TesterBmsc, authorization?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: bmsc.http.address, port: bmsc.http.port, method: 'POST', path: '/keymanagement?requesttype=msk-request',
      headers: { 'Content-Type': 'application/mbms-msk+xml', 'User-Agent': 'test 3gpp-gba', ...(authorization ? { Authorization: authorization } : {}) },
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(REQUEST_BODY);
  });
}

async function exchange(bmsc: TesterBmsc, authorization: string | undefined, answer: (p: NonNullable<Awaited<ReturnType<TesterBmsc['nextRequest']>>>) => void): Promise<Answer> {
  const response = post(bmsc, authorization);
  const pending = await bmsc.nextRequest(2000);
  expect(pending, 'the tester BM-SC hands out the request').toBeDefined();
  expect(pending!.event.body.equals(REQUEST_BODY)).toBe(true);
  answer(pending!);
  return response;
}

test.describe('tester BM-SC HTTP answers', () => {
  test('401 carries a GBA Digest challenge with the profile qop and algorithm, recorded as issued', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      const answer = await exchange(bmsc, undefined, (p) => bmsc.answerChallenge(p));
      expect(answer.status).toBe(401);
      const [challenge] = parseChallenges(String(answer.headers['www-authenticate']));
      expect(challenge!.realm).toBe('3GPP-bootstrapping@bmsc.example.com');
      expect(challenge!.qop).toEqual(['auth-int']);
      expect(challenge!.algorithm).toBe('MD5');
      expect(challenge!.opaque).toMatch(/^[0-9a-f]{16}$/);
      expect(challenge!.stale).toBeUndefined();
      expect(bmsc.latestChallenge?.nonce).toBe(challenge!.nonce);
      expect(bmsc.url).toBe(`http://127.0.0.1:${bmsc.http.port}`);
      expect(bmsc.mikeyEndpoint).toEqual(bmsc.mikey.local);
      expect(bmsc.nonces.map((n) => n.via)).toEqual(['challenge']);
      // request and response are trace events framed from the octets (actor sut = the UE, tester = us)
      const request = trace.events.find((e) => e.kind === 'http-request');
      const response = trace.events.find((e) => e.kind === 'http-response');
      expect(request?.actor).toBe('sut');
      expect(response?.actor).toBe('tester');
      expect(response && response.kind === 'http-response' ? response.requestId : undefined).toBe(request?.id);
    } finally {
      await bmsc.close();
      trace.close();
    }
  });

  test('stale, qop and algorithm options change the challenge; two challenges carry two nonces', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      const first = await exchange(bmsc, undefined, (p) => bmsc.answerChallenge(p, { stale: true, qop: 'auth,auth-int', algorithm: '' }));
      const second = await exchange(bmsc, undefined, (p) => bmsc.answerChallenge(p, { qop: '' }));
      const [a] = parseChallenges(String(first.headers['www-authenticate']));
      const [b] = parseChallenges(String(second.headers['www-authenticate']));
      expect(a!.stale).toBe(true);
      expect(a!.qop).toEqual(['auth', 'auth-int']);
      expect(a!.algorithm).toBeUndefined();
      expect(b!.qop).toBeUndefined();
      expect(a!.nonce).not.toBe(b!.nonce);
    } finally {
      await bmsc.close();
      trace.close();
    }
  });

  test('200 OK answers the §8.2 request with the §8.2 body and rspauth, echoing qop, cnonce and nc', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      const answer = await exchange(bmsc, AUTHORIZATION_82, (p) => bmsc.answerOk(p, { rspauth: 'valid' }));
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/mbms-msk-response+xml');
      expect(answer.body.equals(RESPONSE_BODY)).toBe(true);
      const info = parseAuthenticationInfo(String(answer.headers['authentication-info']));
      expect(info.rspauth).toBe(RSPAUTH_82);
      expect(info).toMatchObject({ qop: 'auth-int', cnonce: '0a4f113b', nc: '00000001' });
      expect(info.nextnonce).toBeUndefined();
    } finally {
      await bmsc.close();
      trace.close();
    }
  });

  test('a wrong rspauth differs from the §8.2 value in one hex digit; absent leaves it out; nextnonce is recorded', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      const wrong = await exchange(bmsc, AUTHORIZATION_82, (p) => bmsc.answerOk(p, { rspauth: 'wrong' }));
      const w = parseAuthenticationInfo(String(wrong.headers['authentication-info'])).rspauth!;
      expect(w).toMatch(/^[0-9a-f]{32}$/);
      expect([...w].filter((c, i) => c !== RSPAUTH_82[i]).length).toBe(1);
      const absent = await exchange(bmsc, AUTHORIZATION_82, (p) => bmsc.answerOk(p, { rspauth: 'absent', nextnonce: true }));
      const a = parseAuthenticationInfo(String(absent.headers['authentication-info']));
      expect(a.rspauth).toBeUndefined();
      expect(a.nextnonce).toBeTruthy();
      expect(bmsc.nonces.at(-1)).toMatchObject({ nonce: a.nextnonce, via: 'nextnonce' });
      const unauthenticated = await exchange(bmsc, undefined, (p) => {
        const ok = bmsc.answerOk(p, { rspauth: 'valid' });
        expect(ok.rspauthProblem).toContain('no Authorization');
      });
      expect(unauthenticated.headers['authentication-info']).toBeUndefined();
    } finally {
      await bmsc.close();
      trace.close();
    }
  });

  test('statuses error answers every requested MSK with the profile not-authorised code', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      const answer = await exchange(bmsc, AUTHORIZATION_82, (p) => bmsc.answerOk(p, { statuses: 'error' }));
      expect(parseMskResponseBody(answer.body, defaultProfile())).toEqual([{ mskId: 0x00010001, status: 403 }]);
    } finally {
      await bmsc.close();
      trace.close();
    }
  });

  test('no request within the bound yields undefined', async () => {
    const { bmsc, trace } = await startBmsc();
    try {
      expect(await bmsc.nextRequest(50)).toBeUndefined();
    } finally {
      await bmsc.close();
      trace.close();
    }
  });
});

// ---- MIKEY ----------------------------------------------------------------------------------------------

function composer(): BmscMikeyComposer {
  return new BmscMikeyComposer({ profile: defaultProfile(), muk: KS_NAF, idi: FQDN, idr: BTID, services: [{ keyDomainId: DOMAIN, mskIds: [0x00010001] }] });
}

/** HMAC-SHA-1 with node:crypto over every octet before the 20-octet MAC (RFC 3830 §5.2). */
function macHolds(c: ComposedMikey, bytes = c.bytes): boolean {
  const { authKey } = deriveMessageKeys(c.psk, c.csbId, c.rand);
  const mac = createHmac('sha1', authKey).update(bytes.subarray(0, bytes.length - 20)).digest();
  return mac.equals(bytes.subarray(bytes.length - 20));
}

test.describe('tester BM-SC MIKEY composer', () => {
  test('MSK messages verify under the MUK, carry the MSK and count per MUK', () => {
    const m = composer();
    const first = m.compose({ kind: 'msk', v: true });
    const reading = readKeyMessage(first.bytes, { psk: KS_NAF }, m.mikeyProfile);
    expect(reading.macValid).toBe(true);
    expect(reading.kind).toBe('msk');
    expect(reading.v).toBe(true);
    expect(reading.counter).toBe(1);
    expect(reading.keyIds.keyDomainId?.toString('hex')).toBe('00f110');
    expect(reading.keyIds.mskId?.toString('hex')).toBe('00010001');
    expect(reading.keyData[0]!.key.equals(m.currentMsk().key)).toBe(true);
    expect(macHolds(first)).toBe(true);
    expect(m.compose({ kind: 'msk' }).counter).toBe(2);
    expect(m.compose({ kind: 'msk', counter: { mode: 'plus', n: 1000 } }).counter).toBe(1002);
    expect(m.compose({ kind: 'msk', counter: { mode: 'value', value: 5 } }).counter).toBe(5);
    expect(m.compose({ kind: 'msk' }).counter).toBe(1003);
    const update = m.compose({ kind: 'msk', keyIds: 'next' });
    expect(update.mskId).toBe(0x00010002);
    expect(m.currentMsk().mskId).toBe(0x00010002);
    // every delivery of one MSK carries its RAND (protocol §5.3)
    expect(m.compose({ kind: 'msk', msk: first.msk! }).rand.equals(first.rand)).toBe(true);
  });

  test('MTK messages verify under the MSK with its RAND, have their own counter, a fixed CSB ID and rising MTK IDs', () => {
    const m = composer();
    const msk = m.compose({ kind: 'msk' });
    m.compose({ kind: 'msk' });
    const a = m.compose({ kind: 'mtk', msk: msk.msk! });
    const b = m.compose({ kind: 'mtk', msk: msk.msk! });
    for (const [x, id] of [[a, 1], [b, 2]] as const) {
      const r = readKeyMessage(x.bytes, { psk: msk.msk!.key, rand: msk.rand }, m.mikeyProfile);
      expect(r.macValid).toBe(true);
      expect(r.kind).toBe('mtk');
      expect(r.v).toBe(false);
      expect(r.counter).toBe(id);
      expect(r.keyIds.mtkId?.readUInt16BE(0)).toBe(id);
    }
    expect(a.csbId).toBe(b.csbId);
    const old = m.compose({ kind: 'mtk', msk: msk.msk!, mtkId: 1 });
    expect(old.mtkId).toBe(1);
    expect(m.compose({ kind: 'mtk', msk: msk.msk! }).mtkId).toBe(3);
    const unknown = m.compose({ kind: 'mtk', keyIds: 'unknown-msk' });
    expect(unknown.mskId >>> 16).toBe(0x7e57);
  });

  test('triggers carry key IDs 0x0 and no key data; other keys and domains', () => {
    const m = composer();
    const t = m.compose({ kind: 'trigger', v: false });
    const r = readKeyMessage(t.bytes, { psk: KS_NAF }, m.mikeyProfile);
    expect(r.kind).toBe('trigger');
    expect(r.macValid).toBe(true);
    expect(r.keyData).toEqual([]);
    expect(r.keyIds.mskId?.every((x) => x === 0)).toBe(true);
    const stranger = m.compose({ kind: 'msk', key: 'old-muk' });
    expect(readKeyMessage(stranger.bytes, { psk: KS_NAF }, m.mikeyProfile).macValid).toBe(false);
    expect(readKeyMessage(stranger.bytes, { psk: m.oldMuk }, m.mikeyProfile).macValid).toBe(true);
    const foreign = m.compose({ kind: 'msk', keyIds: 'unknown-domain' });
    expect(foreign.keyDomainId.equals(UNKNOWN_KEY_DOMAIN)).toBe(true);
    expect(UNKNOWN_KEY_DOMAIN.toString('hex')).toBe('99f999');
    expect(() => m.compose({ kind: 'msk', key: 'msk' })).toThrow(/MTK messages only/);
  });

  test('bad-mac flips one MAC bit; flip-covered-octet changes one EXT bit under an intact MAC', () => {
    const m = composer();
    const bad = m.compose({ kind: 'msk', corrupt: 'bad-mac' });
    const { authKey } = deriveMessageKeys(bad.psk, bad.csbId, bad.rand);
    const good = createHmac('sha1', authKey).update(bad.bytes.subarray(0, bad.bytes.length - 20)).digest();
    const diff = good.map((x, i) => x ^ bad.bytes[bad.bytes.length - 20 + i]!);
    expect(diff.reduce((n, x) => n + x.toString(2).split('1').length - 1, 0)).toBe(1);
    const flipped = m.compose({ kind: 'msk', corrupt: 'flip-covered-octet' });
    expect(macHolds(flipped)).toBe(false);
    const ext = decodeMikey(flipped.bytes).payloads.find((p) => p.type === 'EXT')!;
    const restored = Buffer.from(flipped.bytes);
    restored[ext.offset! + 4 + restored.readUInt16BE(ext.offset! + 2) - 1] ^= 0x01;
    expect(macHolds(flipped, restored)).toBe(true);
  });

  test('header corruptions keep a MAC that verifies over the altered octets', () => {
    const m = composer();
    const v2 = m.compose({ kind: 'msk', corrupt: 'version-2' });
    expect(v2.bytes[0]).toBe(2);
    expect(() => decodeMikey(v2.bytes)).toThrow(MikeyDecodeError);
    expect(macHolds(v2)).toBe(true);
    for (const [corrupt, type] of [['data-type-2', 2], ['data-type-4', 4]] as const) {
      const c = m.compose({ kind: 'msk', corrupt });
      expect(c.bytes[1]).toBe(type);
      expect(macHolds(c)).toBe(true);
    }
    const prf = m.compose({ kind: 'msk', v: true, corrupt: 'prf-1' });
    expect(prf.bytes[3]).toBe(0x81);
    expect(macHolds(prf)).toBe(true);
  });

  test('chain corruptions: payload 13, a length overrun and trailing octets fail the strict decode', () => {
    const m = composer();
    const p13 = m.compose({ kind: 'msk', corrupt: 'unknown-payload-13' });
    expect(decodeMikeyLenient(p13.bytes).error?.reason).toMatch(/13/);
    expect(macHolds(p13)).toBe(true);
    const over = m.compose({ kind: 'msk', corrupt: 'length-overrun' });
    expect(decodeMikeyLenient(over.bytes).error).toBeDefined();
    expect(macHolds(over)).toBe(true);
    const trailing = m.compose({ kind: 'msk', corrupt: 'trailing-garbage' });
    expect(trailing.bytes.subarray(-4).toString('hex')).toBe('deadbeef');
    expect(decodeMikeyLenient(trailing.bytes).error?.payload).toBe('trailing');
    expect(macHolds(trailing, trailing.bytes.subarray(0, trailing.bytes.length - 4))).toBe(true);
  });

  test('NULL algorithms, a V payload and an SP payload with the Empty map are encoded as asked', () => {
    const m = composer();
    const nullEnc = m.compose({ kind: 'msk', corrupt: 'null-encryption' });
    const kemac = findPayload(decodeMikey(nullEnc.bytes), 'KEMAC')!;
    expect(kemac.encrAlg).toBe(EncrAlg.NULL);
    expect(kemac.encrData.includes(nullEnc.msk!.key)).toBe(true);
    expect(macHolds(nullEnc)).toBe(true);
    const nullMac = m.compose({ kind: 'msk', corrupt: 'null-mac' });
    const k2 = findPayload(decodeMikey(nullMac.bytes), 'KEMAC')!;
    expect(k2.macAlg).toBe(MacAlg.NULL);
    expect(k2.mac?.length ?? 0).toBe(0);
    const withV = m.compose({ kind: 'msk', corrupt: 'v-payload-in-initiator' });
    expect(findPayload(decodeMikey(withV.bytes), 'V')).toBeDefined();
    expect(macHolds(withV)).toBe(true);
    const sp = m.compose({ kind: 'msk', corrupt: 'sp-with-empty-map' });
    const decoded = decodeMikey(sp.bytes);
    expect(decoded.hdr.csIdMapType).toBe(1);
    expect(findPayload(decoded, 'SP')).toBeDefined();
    expect(macHolds(sp)).toBe(true);
  });

  test('sendComposed puts the octets on the wire and records both directions', async () => {
    const trace = newTrace();
    const ue = createSocket('udp4');
    await new Promise<void>((resolve) => ue.bind(0, '127.0.0.1', () => resolve()));
    const bmsc = await TesterBmsc.start({ trace, bindAddress: '127.0.0.1', httpPort: 0, mikeyPort: 0 });
    try {
      bmsc.configure({
        identity: { btid: BTID, ksNaf: KS_NAF }, nafFqdn: FQDN, profile: defaultProfile(),
        services: [{ keyDomainId: DOMAIN, mskIds: [0x00010001] }], ueMikey: { address: '127.0.0.1', port: ue.address().port },
      });
      const received = new Promise<{ bytes: Buffer; port: number }>((resolve) => ue.once('message', (bytes, rinfo) => resolve({ bytes, port: rinfo.port })));
      const { composed, event } = await bmsc.sendComposed({ kind: 'msk', v: true });
      const got = await received;
      expect(got.bytes.equals(composed.bytes)).toBe(true);
      expect(got.port).toBe(bmsc.mikey.local.port);
      expect(event).toMatchObject({ kind: 'mikey', actor: 'tester' });
      const reply = trace.waitFor((e) => e.kind === 'mikey' && e.actor === 'sut', 2000);
      ue.send(Buffer.from([1, 1, 0, 0]), bmsc.mikey.local.port, '127.0.0.1');
      expect((await reply)?.kind).toBe('mikey');
      const again = await bmsc.resend(composed.bytes);
      expect(again.bytes.equals(composed.bytes)).toBe(true);
    } finally {
      await bmsc.close();
      ue.close();
      trace.close();
    }
  });
});
