// Reference UE against hand-built MIKEY messages over real UDP on loopback (protocol §1.1-§1.4, §6, checks
// A-U3, M-U1, M-U2, G-U1, G-U2, G-U8, S-U1, G-U9 of §7.2). "No reply" is proven with a barrier: a later
// V=1 message whose ACK must be the first datagram to arrive (UDP on loopback keeps one sender's order).
import { test, expect } from '@playwright/test';
import { decodeMikey, DataType, EncrAlg, encodeKeyData, findPayload, KeyDataType, KvType, verifyVerificationMessage, type KemacPayload } from '../../mikey/index.ts';
import { parseMskRequestBody } from '../../mbms/index.ts';
import { DOMAIN, MSK_1, MSK_KEY, startUe, type UeFixture } from './fixture.ts';
import { TEST_KS_NAF } from './test-harness.ts';

const bound = (f: UeFixture): number => f.profile.timers.ackMs * 4;

async function expectOnlyBarrierAck(f: UeFixture, barrierCounter: number, alreadyReceived = 0): Promise<void> {
  const barrier = f.msk({ counter: barrierCounter, v: true, mskId: 0x00090001 });
  await f.deliver(barrier);
  const datagrams = await f.tester.waitForDatagrams(alreadyReceived + 1, bound(f));
  const ack = decodeMikey(datagrams[alreadyReceived]!.bytes);
  expect(ack.hdr.dataType).toBe(DataType.PSK_VER);
  expect(ack.hdr.csbId).toBe(barrier.message.hdr.csbId);
}

test.describe('reference UE: MSK messages (protocol §1.1, §1.2, §6)', () => {
  let f: UeFixture;
  test.beforeEach(async () => { f = await startUe(); });
  test.afterEach(async () => { await f.close(); });

  test('V=1: one verification message to the source address/port, CSB ID and TS echoed, V MAC valid (A-U3, O16, O17)', async () => {
    const built = f.msk({ counter: 1, v: true });
    const processed = await f.deliver(built);
    expect(processed.result.installed?.kind).toBe('msk');
    const [ack] = await f.tester.waitForDatagrams(1, bound(f));
    expect(ack!.from.port).toBe(f.ue.endpoints!.mikey.port);
    const check = verifyVerificationMessage(ack!.bytes, { original: built.message, psk: TEST_KS_NAF }, f.profile.mikey);
    expect(check).toMatchObject({ macValid: true, csbIdMatches: true, echoedCounterMatches: true, counter: 1 });
    expect(f.ue.state().msks).toEqual([{ keyDomainId: '00f110', mskId: '00010001' }]);
    expect(f.ue.state().counters.muk).toBe(1);
  });

  test('V=0: no verification message (A-U3)', async () => {
    await f.deliver(f.msk({ counter: 1, v: false }));
    await expectOnlyBarrierAck(f, 2);
    expect(f.ue.state().msks.map((m) => m.mskId)).toContain('00010001');
  });

  test('replay: a byte-identical copy and an older counter are dropped without ACK (G-U2, §6.1)', async () => {
    const first = f.msk({ counter: 5, v: true });
    await f.deliver(first);
    await f.tester.waitForDatagrams(1, bound(f));
    const copy = await f.deliver(first);
    expect(copy.result.discarded?.reason).toBe('replay');
    const older = await f.deliver(f.msk({ counter: 4, v: true, mskId: 0x00010002 }));
    expect(older.result.discarded?.reason).toBe('replay');
    await expectOnlyBarrierAck(f, 6, 1);
    expect(f.ue.state().msks.map((m) => m.mskId)).not.toContain('00010002');
  });

  test('bad MAC: dropped, no ACK, nothing installed, counter not advanced (G-U1, §6.1)', async () => {
    const bad = f.msk({ counter: 100, v: true });
    const tampered = Buffer.from(bad.bytes);
    tampered[tampered.length - 1] ^= 0x80;
    const processed = await f.deliver(tampered);
    expect(processed.result.discarded?.reason).toBe('mac');
    expect(f.ue.state().msks).toEqual([]);
    // The forged counter 100 was not stored: a genuine message with counter 50 is still accepted.
    await expectOnlyBarrierAck(f, 50);
    expect(f.ue.state().counters.muk).toBe(50);
  });

  test('message under another MUK (e.g. an old B-TID\'s Ks_NAF) is dropped (G-U4)', async () => {
    const processed = await f.deliver(f.msk({ counter: 1, muk: Buffer.alloc(32, 7) }));
    expect(processed.result.discarded?.reason).toBe('mac');
    await expectOnlyBarrierAck(f, 2);
  });

  test('key store keeps two MSKs per (domain, key group), drops the lowest Key Number, refuses a stale one (§6.2, O21)', async () => {
    for (const [counter, id] of [[1, 0x00010001], [2, 0x00010002], [3, 0x00020001], [4, 0x00010003]] as const) {
      await f.deliver(f.msk({ counter, mskId: id, v: false, key: MSK_KEY(counter) }));
    }
    expect(f.ue.state().msks.map((m) => m.mskId)).toEqual(['00010002', '00010003', '00020001']);
    const stale = await f.deliver(f.msk({ counter: 5, mskId: 0x00010001, v: true }));
    expect(stale.result.discarded?.reason).toBe('stale-key-number');
    expect(f.ue.state().msks.map((m) => m.mskId)).toEqual(['00010002', '00010003', '00020001']);
    await expectOnlyBarrierAck(f, 6);
  });

  test('structurally bad messages are discarded without a crash or a reply (G-U8)', async () => {
    const good = f.msk({ counter: 1, v: true }).bytes;
    const variants: [string, Buffer][] = [
      ['garbage', Buffer.from('hello, UE')],
      ['empty', Buffer.alloc(0)],
      ['truncated', good.subarray(0, 60)],
      ['version 2', Buffer.concat([Buffer.from([2]), good.subarray(1)])],
      ['trailing octets', Buffer.concat([good, Buffer.from([0])])],
      ['unknown payload code', Buffer.concat([good.subarray(0, 2), Buffer.from([13]), good.subarray(3)])],
    ];
    const reasons: string[] = [];
    for (const [, bytes] of variants) reasons.push((await f.deliver(bytes)).result.discarded?.reason ?? 'accepted');
    expect(reasons).toEqual(['malformed', 'malformed', 'malformed', 'malformed', 'malformed', 'malformed']);
    const dataType2 = Buffer.from(good);
    dataType2[1] = 2;
    expect((await f.deliver(dataType2)).result.discarded?.reason).toBe('data-type');
    const prf1 = Buffer.from(good);
    prf1[3] = 0x81;
    expect((await f.deliver(prf1)).result.discarded?.reason).toBe('prf');
    // NULL encryption with a correct MAC: the key would travel in clear (protocol §4.7).
    const plain = encodeKeyData([{ kdType: KeyDataType.TGK, kv: KvType.NULL, key: MSK_KEY(9) }]);
    const nullEnc = f.msk({ counter: 2, v: true, mutate: (m) => { const k = findPayload(m, 'KEMAC') as KemacPayload; k.encrAlg = EncrAlg.NULL; k.encrData = plain; } });
    expect((await f.deliver(nullEnc)).result.discarded?.reason).toBe('null-encryption');
    const nullMac = f.msk({ counter: 3, v: true, mutate: (m) => { const k = findPayload(m, 'KEMAC') as KemacPayload; k.macAlg = 0; } });
    expect((await f.deliver(nullMac)).result.discarded?.reason).toBe('null-mac');
    const withSp = f.msk({ counter: 4, v: true, mutate: (m) => { m.payloads.splice(m.payloads.length - 1, 0, { type: 'SP', policyNo: 0, protType: 0, params: [] }); } });
    expect((await f.deliver(withSp)).result.discarded?.reason).toBe('sp-with-empty-map');
    expect(f.ue.state().msks).toEqual([]);
    await expectOnlyBarrierAck(f, 10);
  });

  test('duplicate policy re-ack (O18): a byte-identical duplicate gets the same ACK again', async () => {
    await f.close();
    const profile = (await import('../../mbms/index.ts')).referenceProfile();
    profile.ueDuplicatePolicy = 're-ack';
    f = await startUe({ profile });
    const built = f.msk({ counter: 1, v: true });
    await f.deliver(built);
    await f.deliver(built);
    const acks = await f.tester.waitForDatagrams(2, bound(f));
    expect(acks[1]!.bytes.equals(acks[0]!.bytes)).toBe(true);
    expect(f.ue.state().counters.muk).toBe(1);
  });
});

test.describe('reference UE: MTK messages (protocol §1.4)', () => {
  let f: UeFixture;
  test.afterEach(async () => { await f.close(); });

  test('valid MTK message (even with V=1) is installed and never answered (M-U1)', async () => {
    f = await startUe();
    await f.deliver(f.msk({ counter: 1, v: false }));
    const processed = await f.deliver(f.mtk({ counter: 1, mtkId: 1, v: true }));
    expect(processed.result.installed).toMatchObject({ kind: 'mtk', mtkId: 1 });
    const replay = await f.deliver(f.mtk({ counter: 1, mtkId: 2 }));
    expect(replay.result.discarded?.reason).toBe('replay');
    const older = await f.deliver(f.mtk({ counter: 2, mtkId: 1 }));
    expect(older.result.discarded?.reason).toBe('mtk-id-not-newer');
    await expectOnlyBarrierAck(f, 2);
    expect(f.ue.state().msks[0]!.mtk).toEqual({ mtkId: '0001' });
    expect(f.ue.state().counters.msk).toEqual({ '00f110/00010001': 2 });
  });

  test('MTK message under an unknown MSK starts a missed-key MSK request for that MSK (M-U2)', async () => {
    f = await startUe({ server: {} });
    const processed = await f.deliver(f.mtk({ counter: 1, mtkId: 1, mskId: 0x00010007 }));
    expect(processed.result.discarded?.reason).toBe('unknown-msk');
    const [first] = await f.server!.waitForRequests(1, f.profile.timers.httpMs);
    expect(parseMskRequestBody(first!.body, f.profile)).toEqual([{ keyDomainId: DOMAIN, mskId: 0x00010007 }]);
    await f.ue.idle();
    expect(f.ue.state().httpRequests).toBe(2); // 401 challenge, then the authenticated request
  });
});

test.describe('reference UE: solicited pull (protocol §1.3)', () => {
  let f: UeFixture;
  test.afterEach(async () => { await f.close(); });

  test('valid trigger: ACK, then the MSK request; the MSK pushed after 200 OK is installed (S-U1, 6.3.1)', async () => {
    f = await startUe({
      server: { onGranted: (keys) => { void f.tester.send(f.msk({ counter: 2, mskId: keys[0]!.mskId, v: true, key: MSK_KEY(3) }).bytes, f.ue.endpoints!.mikey); } },
    });
    const installed = new Promise((resolve) => f.ue.once('key-installed', resolve));
    const trigger = f.trigger({ counter: 1, v: true });
    await f.deliver(trigger);
    const [ack] = await f.tester.waitForDatagrams(1, bound(f));
    expect(verifyVerificationMessage(ack!.bytes, { original: trigger.message, psk: TEST_KS_NAF }, f.profile.mikey).macValid).toBe(true);
    const requests = await f.server!.waitForRequests(2, f.profile.timers.pullMs + f.profile.timers.httpMs);
    expect(requests.map((r) => r.status)).toEqual([401, 200]);
    expect(parseMskRequestBody(requests[1]!.body, f.profile)).toEqual([{ keyDomainId: DOMAIN, mskId: MSK_1 }]);
    await installed;
    expect(f.ue.state().msks).toEqual([{ keyDomainId: '00f110', mskId: '00010001' }]);
    await f.tester.waitForDatagrams(2, bound(f)); // the ACK of the pushed MSK message
  });

  test('trigger with a bad MAC or a replayed trigger causes no HTTP request (G-U9)', async () => {
    f = await startUe({ server: {} });
    const bad = f.trigger({ counter: 1, v: true });
    const tampered = Buffer.from(bad.bytes);
    tampered[tampered.length - 1] ^= 1;
    expect((await f.deliver(tampered)).result.discarded?.reason).toBe('mac');
    const good = f.trigger({ counter: 2, v: true });
    await f.deliver(good);
    expect((await f.deliver(good)).result.discarded?.reason).toBe('replay');
    await f.ue.idle();
    // One pull only (401 + authenticated request), from the valid trigger.
    expect(f.server!.requests.map((r) => r.status)).toEqual([401, 200]);
  });
});

test.describe('reference UE: profile options O17 and O19', () => {
  let f: UeFixture;
  test.afterEach(async () => { await f.close(); });

  test('O17 "configured": the ACK goes to the configured address/port, not to the source', async () => {
    const { UdpPeer } = await import('./test-harness.ts');
    const collector = new UdpPeer();
    const at = await collector.open();
    const profile = (await import('../../mbms/index.ts')).referenceProfile();
    profile.ack = { destination: 'configured', address: at.address, port: at.port };
    try {
      f = await startUe({ profile });
      const built = f.msk({ counter: 1, v: true });
      await f.deliver(built);
      const [ack] = await collector.waitForDatagrams(1, bound(f));
      expect(decodeMikey(ack!.bytes).hdr.csbId).toBe(built.message.hdr.csbId);
      expect(f.tester.received).toEqual([]);
    } finally {
      await collector.close();
    }
  });

  test('O19 "msk-only": a replayed MSK message is answered with a MIKEY error (Invalid TS); MTK messages never', async () => {
    const profile = (await import('../../mbms/index.ts')).referenceProfile();
    profile.errors.ueSendsErr = 'msk-only';
    f = await startUe({ profile });
    const built = f.msk({ counter: 3, v: false });
    await f.deliver(built);
    const mtk = f.mtk({ counter: 1, mtkId: 1 });
    await f.deliver(mtk);
    await f.deliver(mtk); // MTK replay: no error message
    await f.deliver(built); // MSK replay: error message
    const [err] = await f.tester.waitForDatagrams(1, bound(f));
    const message = decodeMikey(err!.bytes);
    expect(message.hdr).toMatchObject({ dataType: DataType.ERROR, csbId: built.message.hdr.csbId });
    expect(findPayload(message, 'ERR')?.errorNo).toBe(1);
  });
});
