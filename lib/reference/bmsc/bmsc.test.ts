// The reference BM-SC's BM-SC-initiated procedures, control API and persistent counters over real loopback
// sockets, judged by a test-local UE built from lib/digest and lib/mikey (never by the BM-SC's own code).
import { test, expect } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenges, parseAuthenticationInfo } from '../../digest/index.ts';
import {
  findPayload, EncrAlg,
  type KeyMessageReading,
} from '../../mikey/index.ts';
import { buildMskRequestBody, mskId, parseMskResponseBody } from '../../mbms/index.ts';
import { callControlApi, controlApiValidator } from '../common/index.ts';
import { BMSC_FAULTS } from './index.ts';
import { TestUdp, mskRequest, postMsk, type Datagram } from './test-ue.ts';
import {
  BOUND, BTID, DOMAIN, KS_NAF, MSK_1, NAF, OTHER_KS_NAF, ack, answerExpiredNonce, fullRequest, read, rig, waitEvent, type Rig,
} from './test-rig.ts';


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
  'bmsc-reject-unknown-header': async (r) => {
    const body = Buffer.from(buildMskRequestBody([{ keyDomainId: DOMAIN, mskId: MSK_1 }], r.profile));
    const reply = await postMsk(r.bmsc.endpoints.http, r.profile, { body, extraHeaders: { 'x-mbms-conform-extension': '1' } });
    expect(reply.status).toBe(400);
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
  'bmsc-mtk-csb-per-message': async (r) => {
    const csbIds = [];
    for (let i = 0; i < 2; i++) {
      await callControlApi(r.bmsc.endpoints.control, 'POST', '/mtk-update', {});
      csbIds.push(read(r, await r.ue.next(BOUND)).csbId);
    }
    expect(csbIds[1]).not.toBe(csbIds[0]);
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
