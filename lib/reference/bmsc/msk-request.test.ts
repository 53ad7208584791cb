// The reference BM-SC's MSK request (6.3.1) over real loopback sockets, judged by a test-local UE built from
// lib/digest and lib/mikey (never by the BM-SC's own code).
import { test, expect } from '@playwright/test';
import { DigestClient, parseChallenges } from '../../digest/index.ts';
import {
  findPayload, getKeyIds,
  type KeyMessageReading,
} from '../../mikey/index.ts';
import { mskId, parseMskResponseBody } from '../../mbms/index.ts';
import { callControlApi } from '../common/index.ts';
import { mskRequest, postMsk } from './test-ue.ts';
import {
  BOUND, BTID, DOMAIN, KS_NAF, MSK_1, NAF, OTHER_KS_NAF, ack, answerExpiredNonce, fullRequest, read, rig, waitEvent,
} from './test-rig.ts';

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
