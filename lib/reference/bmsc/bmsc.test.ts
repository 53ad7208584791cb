// The reference BM-SC over real loopback sockets, judged by a test-local UE built from lib/digest and
// lib/mikey (never by the BM-SC's own code).
import { test, expect } from '@playwright/test';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestClient, parseChallenges, parseAuthenticationInfo } from '../../digest/index.ts';
import {
  buildVerificationMessage, findPayload, getKeyIds, mikeyProfile, readKeyMessage, EncrAlg,
  type KeyMessageReading, type MikeyProfile,
} from '../../mikey/index.ts';
import { buildMskRequestBody, mskId, parseMskResponseBody, referenceProfile, type MbmsProfile } from '../../mbms/index.ts';
import { callControlApi, controlApiValidator } from '../common/index.ts';
import { ReferenceBmsc, BMSC_FAULTS, type BmscUser } from './index.ts';
import { TestUdp, mskRequest, postMsk, type Datagram, type HttpReply } from './test-ue.ts';

const KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const OTHER_KS_NAF = Buffer.from('ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const BTID = 'AbCdEf0123456789@bsf.example.com';
const DOMAIN = Buffer.from('00f110', 'hex');
const NAF = 'bmsc.example.com';
const MSK_1 = mskId(1, 1);
const BOUND = 2000; // upper bound on any single wait (reference profile timers are far shorter)

function testProfile(): MbmsProfile {
  const profile = referenceProfile();
  profile.retransmission = { intervalMs: 100, count: 3, freshTs: true };
  profile.timers.silenceMs = 300; // > 2 retransmission intervals: a retransmission would show
  return profile;
}

interface Rig {
  bmsc: ReferenceBmsc;
  ue: TestUdp;
  profile: MbmsProfile;
  mikey: MikeyProfile;
  events: { name: string; time: number; data: any }[];
  clock: { now: number };
  close(): Promise<void>;
}

async function rig(opts: { faults?: string[]; stateFile?: string; ue?: TestUdp; users?: BmscUser[]; clock?: boolean } = {}): Promise<Rig> {
  const ue = opts.ue ?? await TestUdp.open();
  const profile = testProfile();
  const clock = { now: Date.now() };
  const bmsc = new ReferenceBmsc({
    nafFqdn: NAF,
    profile,
    faults: opts.faults ?? [],
    services: [{ keyDomainId: DOMAIN, keyGroup: 1 }, { keyDomainId: DOMAIN, keyGroup: 2 }],
    users: opts.users ?? [{ btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ue.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] }],
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
    ...(opts.clock ? { clock: () => clock.now } : {}),
  });
  const events: Rig['events'] = [];
  for (const name of ['http-request', 'http-response', 'mikey-out', 'ack-in', 'ack-rejected', 'ack-timeout'] as const) {
    bmsc.on(name, (data: any) => events.push({ name, time: data.time, data }));
  }
  await bmsc.start();
  return {
    bmsc, ue, profile, mikey: mikeyProfile(profile.mikey as any), events, clock,
    async close() { await bmsc.stop(); if (!opts.ue) await ue.close(); },
  };
}

function read(r: Rig, d: Datagram, psk: Buffer = KS_NAF, rand?: Buffer): KeyMessageReading {
  return readKeyMessage(d.bytes, { psk, ...(rand ? { rand } : {}) }, r.mikey);
}

/**
 * Answers a challenge correctly after its nonce expired (the rig's clock moved past the nonce TTL): the
 * request RFC 2617 §3.2.1 answers with 401 stale=true. Returns the BM-SC's answer.
 */
async function answerExpiredNonce(r: Rig): Promise<HttpReply> {
  const body = Buffer.from('<x/>');
  const first = await postMsk(r.bmsc.endpoints.http, r.profile, { body });
  const client = new DigestClient({ username: BTID, password: KS_NAF.toString('base64') });
  r.clock.now += r.profile.http.nonceTtlMs + 1;
  const authorization = client.authorize(first.headers.get('www-authenticate')!, { method: 'POST', uri: '/keymanagement?requesttype=msk-request', body });
  return postMsk(r.bmsc.endpoints.http, r.profile, { body, authorization });
}

function ack(r: Rig, d: Datagram, psk: Buffer = KS_NAF): Buffer {
  return buildVerificationMessage({ received: d.bytes, psk, profile: r.mikey }).bytes;
}

const waitEvent = <T = any>(r: Rig, name: string) =>
  once(r.bmsc as any, name, { signal: AbortSignal.timeout(BOUND) }).then((args) => args[0] as T);

async function fullRequest(r: Rig, keys = [{ keyDomainId: DOMAIN, mskId: MSK_1 }]) {
  return mskRequest(r.bmsc.endpoints.http, r.profile, { btid: BTID, ksNaf: KS_NAF, keys });
}

test.describe('6.3.1 UE-initiated MSK request', () => {
  test('401 challenge, authorised POST, 200 with verified rspauth, MSK message after it, ACK stops retransmission', async () => {
    const r = await rig();
    try {
      const { challenge, reply, client } = await fullRequest(r);
      // Step 2: Digest challenge with the GBA realm and qop=auth-int (protocol §2.2, §3.3).
      const [ch] = parseChallenges(challenge.headers.get('www-authenticate')!);
      expect(ch!.realm).toBe(`3GPP-bootstrapping@${NAF}`);
      expect(ch!.qop).toEqual(['auth-int']);
      expect(ch!.stale).toBeUndefined();
      // Step 4: 200 OK, Authentication-Info whose rspauth covers the response body (RFC 2617 §3.2.3).
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('application/mbms-msk-response+xml');
      const check = client.verifyAuthenticationInfo(reply.headers.get('authentication-info') ?? undefined, { responseBody: reply.body });
      expect(check.valid, check.reason).toBe(true);
      expect(parseMskResponseBody(reply.body, r.profile)).toEqual([{ mskId: MSK_1, status: 200 }]);
      // Step 5: one MSK message, MAC valid under the MUK, MSK decrypts, Key IDs as requested, V=1.
      const first = await r.ue.next(BOUND);
      const m = read(r, first);
      expect(m.error).toBeUndefined();
      expect(m.kind).toBe('msk');
      expect(m.macValid).toBe(true);
      expect(m.v).toBe(true);
      expect(m.keyIds.keyDomainId).toEqual(DOMAIN);
      expect(m.keyIds.mskId!.readUInt32BE(0)).toBe(MSK_1);
      expect(m.keyData).toHaveLength(1);
      expect(m.keyData[0]!.key).toHaveLength(16);
      expect(m.counter).toBe(1);
      expect(findPayload(m.message, 'RAND')!.rand.length).toBeGreaterThanOrEqual(16);
      // The 200 OK was written before the MIKEY message left (6.3.1 ordering).
      const order = r.events.filter((e) => e.name === 'http-response' && e.data.status === 200 || e.name === 'mikey-out').map((e) => e.name);
      expect(order).toEqual(['http-response', 'mikey-out']);
      // Step 6: a correct ACK is taken and ends the retransmissions.
      const acked = waitEvent(r, 'ack-in');
      await r.ue.send(ack(r, first), first.from);
      expect((await acked).counter).toBe(1);
      // A retransmission may cross the ACK on the wire; after that, silence (protocol §1.2).
      expect((await r.ue.collect(r.profile.timers.silenceMs)).length).toBeLessThanOrEqual(1);
      const state = await callControlApi(r.bmsc.endpoints.control, 'GET', '/state');
      expect(state.body.outstandingAcks).toEqual([]);
      expect(state.body.counters.muk[BTID]).toBeLessThanOrEqual(2); // 1, or 2 when a copy crossed the ACK
    } finally { await r.close(); }
  });

  test('without an ACK the MSK message is retransmitted with fresh counters, each valid, then given up', async () => {
    const r = await rig();
    try {
      await fullRequest(r);
      const received: KeyMessageReading[] = [];
      for (let i = 0; i <= r.profile.retransmission.count; i++) received.push(read(r, await r.ue.next(BOUND)));
      const timeout = waitEvent(r, 'ack-timeout');
      expect((await timeout).attempts).toBe(r.profile.retransmission.count + 1);
      expect(received.map((m) => m.counter)).toEqual([1, 2, 3, 4]);
      for (const m of received) expect(m.macValid).toBe(true);
      const macs = received.map((m) => findPayload(m.message, 'KEMAC')!.mac!.toString('hex'));
      expect(new Set(macs).size).toBe(macs.length);
      // Same MSK, same RAND in every copy (protocol §5.3).
      expect(new Set(received.map((m) => m.keyData[0]!.key.toString('hex'))).size).toBe(1);
      expect(new Set(received.map((m) => m.rand!.toString('hex'))).size).toBe(1);
      expect(await r.ue.collect(r.profile.timers.silenceMs)).toEqual([]);
    } finally { await r.close(); }
  });

  test('an ACK for an earlier copy is accepted once; a second ACK is rejected as duplicate', async () => {
    const r = await rig();
    try {
      await fullRequest(r);
      const first = await r.ue.next(BOUND);
      await r.ue.next(BOUND); // the first retransmission
      const acked = waitEvent(r, 'ack-in');
      await r.ue.send(ack(r, first), first.from);
      await acked;
      const rejected = waitEvent(r, 'ack-rejected');
      await r.ue.send(ack(r, first), first.from);
      expect((await rejected).reason).toMatch(/duplicate/);
    } finally { await r.close(); }
  });

  test('refusals: unknown B-TID, wrong password, uri mismatch, media type, malformed XML, unsubscribed MSK', async () => {
    const r = await rig();
    try {
      const target = r.bmsc.endpoints.http;
      const keys = [{ keyDomainId: DOMAIN, mskId: MSK_1 }];
      const unknown = await mskRequest(target, r.profile, { btid: 'nobody@bsf.example.com', ksNaf: KS_NAF, keys });
      expect(unknown.reply.status).toBe(401);
      const wrong = await mskRequest(target, r.profile, { btid: BTID, ksNaf: OTHER_KS_NAF, keys });
      expect(wrong.reply.status).toBe(401);
      expect(parseChallenges(wrong.reply.headers.get('www-authenticate')!)[0]!.stale).toBeUndefined();
      const uri = await mskRequest(target, r.profile, { btid: BTID, ksNaf: KS_NAF, keys, faults: { uri: '/keymanagement?requesttype=other' } });
      expect(uri.reply.status).toBe(400);
      const tampered = await mskRequest(target, r.profile, { btid: BTID, ksNaf: KS_NAF, keys, faults: { bodyForDigest: Buffer.from('<other/>') } });
      expect(tampered.reply.status).toBe(401);

      // Authenticated but malformed: a fresh client per request so each nonce/nc is fresh.
      const viaAuth = async (body: Buffer, contentType?: string) => {
        const first = await postMsk(target, r.profile, { body });
        const client = new DigestClient({ username: BTID, password: KS_NAF.toString('base64') });
        const authorization = client.authorize(first.headers.get('www-authenticate')!, { method: 'POST', uri: '/keymanagement?requesttype=msk-request', body });
        return postMsk(target, r.profile, { body, authorization, ...(contentType ? { contentType } : {}) });
      };
      expect((await viaAuth(Buffer.from('<mskRequest><keyDomainID>APEQ</keyDomainID>'))).status).toBe(400);
      expect((await viaAuth(Buffer.from('<x/>'), 'text/plain')).status).toBe(415);

      // MSK of a key group the user is not subscribed to: 200, per-MSK refusal, MIKEY only for the granted one.
      const mixed = await fullRequest(r, [{ keyDomainId: DOMAIN, mskId: MSK_1 }, { keyDomainId: DOMAIN, mskId: mskId(2, 1) }]);
      expect(mixed.reply.status).toBe(200);
      expect(parseMskResponseBody(mixed.reply.body, r.profile)).toEqual([{ mskId: MSK_1, status: 200 }, { mskId: mskId(2, 1), status: 403 }]);
      const only = await r.ue.next(BOUND);
      expect(getKeyIds(read(r, only).message).mskId!.readUInt32BE(0)).toBe(MSK_1);
      await r.ue.send(ack(r, only), only.from);
      const rest = await r.ue.collect(r.profile.timers.silenceMs);
      expect(rest.every((d) => read(r, d).keyIds.mskId!.readUInt32BE(0) === MSK_1)).toBe(true);
      // No MIKEY for any of the refused requests: every message sent belongs to the granted one.
      expect(r.events.filter((e) => e.name === 'mikey-out').every((e) => e.data.mskId === MSK_1)).toBe(true);
    } finally { await r.close(); }
  });

  test('an expired nonce with a correct digest is answered 401 stale=true', async () => {
    const r = await rig({ clock: true });
    try {
      const stale = await answerExpiredNonce(r);
      expect(stale.status).toBe(401);
      expect(parseChallenges(stale.headers.get('www-authenticate')!)[0]!.stale).toBe(true);
    } finally { await r.close(); }
  });
});

test.describe('BM-SC-initiated procedures through the control API', () => {
  test('POST /users then POST /push delivers the current MSK; the answer matches the schema', async () => {
    const ue = await TestUdp.open();
    const r = await rig({ ue, users: [] });
    try {
      const control = r.bmsc.endpoints.control;
      const user = await callControlApi(control, 'POST', '/users', {
        btid: BTID, ksNaf: KS_NAF.toString('hex'), ueAddress: '127.0.0.1', uePort: ue.endpoint.port,
        subscriptions: [{ keyDomainId: '001-01', mskIds: ['00010001'] }],
      });
      expect(user.status).toBe(200);
      expect(user.body.user).toEqual({
        btid: BTID, ueAddress: '127.0.0.1', uePort: ue.endpoint.port, mikeyTarget: ue.endpoint,
        subscriptions: [{ keyDomainId: '00f110', keyGroups: [1] }],
      });
      const pushed = await callControlApi(control, 'POST', '/push', { btid: BTID, v: false });
      expect(pushed.status).toBe(200);
      expect(controlApiValidator('MessagesResponse')(pushed.body)).toBe(true);
      expect(pushed.body.messages).toMatchObject([{ kind: 'msk', btid: BTID, mskId: '00010001', v: false, attempt: 1, counter: 1 }]);
      const m = read(r, await ue.next(BOUND));
      expect(m.macValid).toBe(true);
      expect(m.v).toBe(false);
      expect(m.counter).toBe(1);
      // V=0: nothing more.
      expect(await ue.collect(r.profile.timers.silenceMs)).toEqual([]);
      expect((await callControlApi(control, 'POST', '/push', { btid: 'nobody' })).status).toBe(404);
      expect((await callControlApi(control, 'POST', '/push', { btid: BTID, msk: { keyDomainId: '00f110', mskId: '00010009' } })).status).toBe(404);
    } finally { await r.close(); await ue.close(); }
  });

  test('rotate-msk makes the next Key Number current; the push carries it under the same MUK counter space', async () => {
    const r = await rig();
    try {
      const control = r.bmsc.endpoints.control;
      const rotated = await callControlApi(control, 'POST', '/rotate-msk', { keyDomainId: '00f110', keyGroup: 1, push: true });
      expect(rotated.status).toBe(200);
      expect(rotated.body.rotated).toEqual([{ keyDomainId: '00f110', keyGroup: 1, mskId: '00010002', previousMskId: '00010001' }]);
      const m = read(r, await r.ue.next(BOUND));
      expect(m.keyIds.mskId!.readUInt32BE(0)).toBe(mskId(1, 2));
      expect(m.macValid).toBe(true);
      const state = await callControlApi(control, 'GET', '/state');
      expect(state.status).toBe(200);
      expect(state.body.keys.find((k: any) => k.keyGroup === 1)).toMatchObject({ currentMskId: '00010002', mskIds: ['00010001', '00010002'] });
    } finally { await r.close(); }
  });

  test('solicited-pull trigger: key IDs 0, KEMAC without key data, authenticated under the MUK', async () => {
    const r = await rig();
    try {
      const sent = await callControlApi(r.bmsc.endpoints.control, 'POST', '/solicited-pull', { btid: BTID, v: false });
      expect(sent.status).toBe(200);
      const d = await r.ue.next(BOUND);
      const m = read(r, d);
      expect(m.kind).toBe('trigger');
      expect(m.macValid).toBe(true);
      expect(m.keyIds.mskId).toEqual(Buffer.alloc(4));
      expect(findPayload(m.message, 'KEMAC')!.encrData.length).toBe(0);
      expect(m.keyData).toEqual([]);
      // A trigger under another MUK does not verify.
      expect(read(r, d, OTHER_KS_NAF).macValid).toBe(false);
    } finally { await r.close(); }
  });

  test('MTK update: the same V=0 message to every UE, keys from the MSK and its RAND, counters and MTK IDs increasing', async () => {
    const ue2 = await TestUdp.open();
    const ue1 = await TestUdp.open();
    const r = await rig({
      ue: ue1,
      users: [
        { btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ue1.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] },
        { btid: 'second@bsf.example.com', ksNaf: OTHER_KS_NAF, ueAddress: '127.0.0.1', uePort: ue2.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] },
      ],
    });
    try {
      const control = r.bmsc.endpoints.control;
      // Each UE first gets the MSK (and its RAND) under its own MUK.
      await callControlApi(control, 'POST', '/push', { btid: BTID, v: false });
      await callControlApi(control, 'POST', '/push', { btid: 'second@bsf.example.com', v: false });
      const msk1 = read(r, await ue1.next(BOUND));
      const msk2 = read(r, await ue2.next(BOUND), OTHER_KS_NAF);
      expect(msk1.keyData[0]!.key).toEqual(msk2.keyData[0]!.key);
      expect(msk1.rand).toEqual(msk2.rand); // the RAND belongs to the MSK (protocol §5.3)
      const msk = msk1.keyData[0]!.key;
      const readings = [];
      for (let round = 0; round < 2; round++) {
        const sent = await callControlApi(control, 'POST', '/mtk-update', {});
        expect(sent.status).toBe(200);
        expect(sent.body.messages).toHaveLength(2);
        const a = await ue1.next(BOUND);
        const b = await ue2.next(BOUND);
        expect(a.bytes).toEqual(b.bytes);
        const m = read(r, a, msk, msk1.rand);
        expect(m.kind).toBe('mtk');
        expect(m.macValid).toBe(true);
        expect(m.v).toBe(false);
        expect(m.keyData).toHaveLength(1);
        readings.push(m);
      }
      expect(readings.map((m) => m.counter)).toEqual([1, 2]);
      expect(readings.map((m) => m.keyIds.mtkId!.readUInt16BE(0))).toEqual([1, 2]);
      expect(readings[0]!.csbId).toBe(readings[1]!.csbId); // CSB ID fixed per MSK (O10)
      expect(await ue1.collect(r.profile.timers.silenceMs)).toEqual([]);
    } finally { await r.close(); await ue2.close(); }
  });

  test('control API refuses bad bodies and unknown faults', async () => {
    const r = await rig();
    try {
      const control = r.bmsc.endpoints.control;
      expect((await callControlApi(control, 'POST', '/users', { btid: 'x', ksNaf: 'zz' })).status).toBe(400);
      const bad = await callControlApi(control, 'PUT', '/faults', { active: ['bmsc-no-such-fault'] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('ERR_REFERENCE_FAULT');
      const ok = await callControlApi(control, 'PUT', '/faults', { active: ['bmsc-bad-mac'] });
      expect(ok.body.active).toEqual(['bmsc-bad-mac']);
      expect(ok.body.available).toHaveLength(BMSC_FAULTS.length);
      expect((await callControlApi(control, 'POST', '/solicited-pull', { btid: 'nobody' })).status).toBe(404);
    } finally { await r.close(); }
  });
});

test.describe('persistent counters', () => {
  test('a restarted BM-SC with the same state file continues counters and keeps the MSK and its RAND', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'bmsc-state-')), 'state.json');
    const ue = await TestUdp.open();
    const before: KeyMessageReading[] = [];
    let r = await rig({ stateFile, ue });
    try {
      for (let i = 0; i < 2; i++) {
        await callControlApi(r.bmsc.endpoints.control, 'POST', '/push', { btid: BTID, v: false });
        before.push(read(r, await ue.next(BOUND)));
      }
      await callControlApi(r.bmsc.endpoints.control, 'POST', '/mtk-update', {});
      before.push(read(r, await ue.next(BOUND), before[0]!.keyData[0]!.key, before[0]!.rand));
    } finally { await r.bmsc.stop(); }
    r = await rig({ stateFile, ue });
    try {
      await callControlApi(r.bmsc.endpoints.control, 'POST', '/push', { btid: BTID, v: false });
      const after = read(r, await ue.next(BOUND));
      expect(before.slice(0, 2).map((m) => m.counter)).toEqual([1, 2]);
      expect(after.counter).toBeGreaterThan(2);
      expect(after.keyData[0]!.key).toEqual(before[0]!.keyData[0]!.key);
      expect(after.rand).toEqual(before[0]!.rand);
      await callControlApi(r.bmsc.endpoints.control, 'POST', '/mtk-update', {});
      const mtk = read(r, await ue.next(BOUND), after.keyData[0]!.key, after.rand);
      expect(mtk.macValid).toBe(true);
      expect(mtk.counter).toBeGreaterThan(before[2]!.counter!);
      expect(mtk.keyIds.mtkId!.readUInt16BE(0)).toBeGreaterThan(before[2]!.keyIds.mtkId!.readUInt16BE(0));
    } finally { await r.close(); await ue.close(); }
  });
});

// ---- one test per fault: the deviation, seen on the wire by the test UE ------------------------------------

type FaultCheck = (r: Rig) => Promise<void>;

async function pushAndRead(r: Rig, v = false): Promise<{ d: Datagram; m: KeyMessageReading }> {
  const res = await callControlApi(r.bmsc.endpoints.control, 'POST', '/push', { btid: BTID, v });
  expect(res.status).toBe(200);
  const d = await r.ue.next(BOUND);
  return { d, m: read(r, d) };
}

const faultChecks: Record<string, FaultCheck> = {
  'bmsc-wrong-realm': async (r) => {
    const first = await postMsk(r.bmsc.endpoints.http, r.profile, { body: Buffer.from('<x/>') });
    expect(parseChallenges(first.headers.get('www-authenticate')!)[0]!.realm).toBe(NAF);
  },
  'bmsc-no-challenge': async (r) => {
    const body = Buffer.from(buildMskRequestBody([{ keyDomainId: DOMAIN, mskId: MSK_1 }], r.profile));
    const reply = await postMsk(r.bmsc.endpoints.http, r.profile, { body });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('www-authenticate')).toBeNull();
    expect(read(r, await r.ue.next(BOUND)).macValid).toBe(true);
  },
  'bmsc-accept-wrong-digest': async (r) => {
    const { reply } = await mskRequest(r.bmsc.endpoints.http, r.profile, { btid: BTID, ksNaf: OTHER_KS_NAF, keys: [{ keyDomainId: DOMAIN, mskId: MSK_1 }] });
    expect(reply.status).toBe(200);
    expect(read(r, await r.ue.next(BOUND)).macValid).toBe(true);
  },
  'bmsc-accept-replayed-nc': async (r) => {
    const { reply, body, authorization } = await fullRequest(r);
    expect(reply.status).toBe(200);
    const replay = await postMsk(r.bmsc.endpoints.http, r.profile, { body, authorization });
    expect(replay.status).toBe(200);
  },
  'bmsc-ignore-stale': async (r) => {
    const stale = await answerExpiredNonce(r);
    expect(stale.status).toBe(401);
    expect(parseChallenges(stale.headers.get('www-authenticate')!)[0]!.stale).toBeUndefined();
  },
  'bmsc-uri-not-checked': async (r) => {
    const { reply } = await mskRequest(r.bmsc.endpoints.http, r.profile, {
      btid: BTID, ksNaf: KS_NAF, keys: [{ keyDomainId: DOMAIN, mskId: MSK_1 }], faults: { uri: '/keymanagement?requesttype=other' },
    });
    expect(reply.status).toBe(200);
  },
  'bmsc-no-auth-info': async (r) => {
    const { reply } = await fullRequest(r);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('authentication-info')).toBeNull();
  },
  'bmsc-wrong-rspauth': async (r) => {
    const { reply, client } = await fullRequest(r);
    const info = reply.headers.get('authentication-info')!;
    expect(parseAuthenticationInfo(info).rspauth).toMatch(/^[0-9a-f]{32}$/);
    expect(client.verifyAuthenticationInfo(info, { responseBody: reply.body }).valid).toBe(false);
  },
  'bmsc-grant-unsubscribed': async (r) => {
    const { reply } = await fullRequest(r, [{ keyDomainId: DOMAIN, mskId: mskId(2, 1) }]);
    expect(parseMskResponseBody(reply.body, r.profile)).toEqual([{ mskId: mskId(2, 1), status: 200 }]);
    expect(read(r, await r.ue.next(BOUND)).keyIds.mskId!.readUInt32BE(0)).toBe(mskId(2, 1));
  },
  'bmsc-mikey-before-200': async (r) => {
    await fullRequest(r);
    await r.ue.next(BOUND);
    const order = r.events.filter((e) => (e.name === 'http-response' && e.data.status === 200) || e.name === 'mikey-out').map((e) => e.name);
    expect(order.slice(0, 2)).toEqual(['mikey-out', 'http-response']);
  },
  'bmsc-bad-mac': async (r) => {
    const { m } = await pushAndRead(r);
    expect(m.macValid).toBe(false);
    expect(m.error).toMatch(/MAC mismatch/);
  },
  'bmsc-null-encryption': async (r) => {
    const { m } = await pushAndRead(r);
    expect(findPayload(m.message, 'KEMAC')!.encrAlg).toBe(EncrAlg.NULL);
    expect(m.macValid).toBe(true);
    expect(m.error).toMatch(/NULL/);
    expect(m.keyData[0]!.key).toHaveLength(16); // readable without any key: sent in clear
  },
  'bmsc-short-rand': async (r) => {
    const { m } = await pushAndRead(r);
    expect(findPayload(m.message, 'RAND')!.rand).toHaveLength(8);
  },
  'bmsc-wrong-key-ids': async (r) => {
    await fullRequest(r);
    const m = read(r, await r.ue.next(BOUND));
    expect(m.keyIds.mskId!.readUInt32BE(0)).toBe(MSK_1 + 1);
  },
  'bmsc-fresh-rand-per-message': async (r) => {
    const a = await pushAndRead(r);
    const b = await pushAndRead(r);
    expect(a.m.keyData[0]!.key).toEqual(b.m.keyData[0]!.key);
    expect(a.m.rand).not.toEqual(b.m.rand);
  },
  'bmsc-reuse-counter': async (r) => {
    const a = await pushAndRead(r);
    const b = await pushAndRead(r);
    expect(b.m.counter).toBe(a.m.counter);
  },
  'bmsc-decreasing-counter': async (r) => {
    const a = await pushAndRead(r);
    const b = await pushAndRead(r);
    expect(b.m.counter!).toBeLessThan(a.m.counter!);
  },
  'bmsc-never-retransmit': async (r) => {
    await pushAndRead(r, true);
    expect(await r.ue.collect(r.profile.timers.silenceMs)).toEqual([]);
  },
  'bmsc-retransmit-after-ack': async (r) => {
    const { d } = await pushAndRead(r, true);
    const acked = waitEvent(r, 'ack-in');
    await r.ue.send(ack(r, d), d.from);
    await acked;
    // A conformant BM-SC stops (one copy may cross the ACK); this one goes on to the full count.
    const later = await r.ue.collect(r.profile.timers.silenceMs);
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const d of later) expect(read(r, d).macValid).toBe(true);
  },
  'bmsc-accept-bad-ack': async (r) => {
    const { d } = await pushAndRead(r, true);
    const bad = ack(r, d);
    bad[bad.length - 1] ^= 0xff;
    const acked = waitEvent(r, 'ack-in');
    await r.ue.send(bad, d.from);
    expect((await acked).macValid).toBe(false);
  },
  'bmsc-trigger-nonzero-ids': async (r) => {
    await callControlApi(r.bmsc.endpoints.control, 'POST', '/solicited-pull', { btid: BTID, v: false });
    const m = read(r, await r.ue.next(BOUND));
    expect(m.keyIds.mskId!.readUInt32BE(0)).toBe(MSK_1);
    expect(m.kind).not.toBe('trigger');
  },
  'bmsc-mtk-with-v': async (r) => {
    await callControlApi(r.bmsc.endpoints.control, 'POST', '/mtk-update', {});
    expect(read(r, await r.ue.next(BOUND)).v).toBe(true);
  },
  'bmsc-repeat-mtk-id': async (r) => {
    const ids = [];
    for (let i = 0; i < 2; i++) {
      await callControlApi(r.bmsc.endpoints.control, 'POST', '/mtk-update', {});
      ids.push(read(r, await r.ue.next(BOUND)).keyIds.mtkId!.readUInt16BE(0));
    }
    expect(ids[1]).toBe(ids[0]);
  },
};

test.describe('BM-SC faults', () => {
  test('every fault of the table has a check here and a clause it violates', () => {
    expect(BMSC_FAULTS.length).toBeGreaterThanOrEqual(12);
    expect(Object.keys(faultChecks).sort()).toEqual(BMSC_FAULTS.map((f) => f.name).sort());
    for (const f of BMSC_FAULTS) expect(f.violates).toMatch(/(RFC|TS|protocol) /);
  });

  for (const fault of BMSC_FAULTS) {
    test(`${fault.name}: ${fault.description}`, async () => {
      const r = await rig({ faults: [fault.name], clock: true });
      try {
        await faultChecks[fault.name]!(r);
      } finally { await r.close(); }
    });
  }

  for (const fault of BMSC_FAULTS) {
    test(`${fault.name}: the conformant BM-SC fails this check`, async () => {
      const r = await rig({ clock: true });
      try {
        await expect(faultChecks[fault.name]!(r)).rejects.toThrow();
      } finally { await r.close(); }
    });
  }
});
