// The reference UE and the reference BM-SC against each other over loopback: all four procedures of
// TS 33.246 clause 6.3, retransmission, a stale nonce and a BM-SC restart that must not reuse counters.
// Two independent implementations agreeing on the wire is the cheapest interoperability evidence we have.
import { test, expect } from '@playwright/test';
import type { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mskId, referenceProfile, type MbmsProfile } from '../mbms/index.ts';
import { ReferenceBmsc, ReferenceUe, callControlApi, nextEvent, type BmscUser } from './index.ts';

const KS_NAF = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const BTID = 'AbCdEf0123456789@bsf.example.com';
const NAF = 'bmsc.example.com';
const DOMAIN = Buffer.from('00f110', 'hex');
const BOUND = 3000;

/** The first `name` event that satisfies `pred`, within `bound` ms. */
const waitFor = <T = any>(emitter: EventEmitter<any>, name: string, pred: (e: T) => boolean = () => true, bound = BOUND): Promise<T> =>
  nextEvent<T>(emitter, name, pred, bound);

function profile(): MbmsProfile {
  const p = referenceProfile();
  p.retransmission = { intervalMs: 100, count: 3, freshTs: true };
  return p;
}

test('reference UE and reference BM-SC: 6.3.1, push, solicited pull, MTK update, retransmission, stale nonce, restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'interop-'));
  const stateFile = join(dir, 'bmsc-state.json');
  const clock = { now: Date.now() };
  const makeBmsc = (httpPort: number, users: BmscUser[]) => new ReferenceBmsc({
    nafFqdn: NAF, profile: profile(), stateFile, users, clock: () => clock.now,
    http: { address: '127.0.0.1', port: httpPort },
    services: [{ keyDomainId: DOMAIN, keyGroup: 1 }],
  });
  let bmsc = makeBmsc(0, []);
  const bmscEndpoints = await bmsc.start();
  const ue = new ReferenceUe({
    btid: BTID, ksNaf: KS_NAF, nafFqdn: NAF, profile: profile(),
    bmscUrl: `http://127.0.0.1:${bmscEndpoints.http.port}`,
    mikey: { address: '127.0.0.1', port: 0 },
    statePath: join(dir, 'ue-state.json'),
    services: [{ keyDomainId: '001-01', mskIds: ['00010001'] }],
  });
  const ueEndpoints = await ue.start();
  const user: BmscUser = {
    btid: BTID, ksNaf: Buffer.from(KS_NAF, 'hex'), ueAddress: '127.0.0.1', uePort: ueEndpoints.mikey.port,
    subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }],
  };
  const mukCountersSeen: number[] = [];
  const sentMessages: { kind: string; counter: number; attempt: number }[] = [];
  const record = (b: ReferenceBmsc) => b.on('mikey-out', (e) => {
    sentMessages.push(e);
    if (e.kind !== 'mtk') mukCountersSeen.push(e.counter);
  });
  record(bmsc);
  try {
    // Provisioning through the control API, as a harness for a third-party BM-SC would do it.
    const provisioned = await callControlApi(bmscEndpoints.control, 'POST', '/users', {
      btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ueEndpoints.mikey.port,
      subscriptions: [{ keyDomainId: '00f110', keyGroups: [1] }],
    });
    expect(provisioned.status).toBe(200);

    // --- 6.3.1: UE-initiated MSK request, MIKEY MSK message, ACK ---
    let installed = waitFor(ue, 'key-installed', (e) => e.kind === 'msk' && e.mskId === '00010001');
    let acked = waitFor(bmsc, 'ack-in');
    const outcome = await ue.requestMsks();
    expect(outcome).toMatchObject({ httpStatus: 200, accepted: true, rspauthValid: true, exchanges: 2 });
    expect(outcome.results).toEqual([{ mskId: mskId(1, 1), status: 200 }]);
    await installed;
    expect((await acked).btid).toBe(BTID);

    // --- 6.3.2.1: BM-SC push of a new MSK (rotation), ACKed ---
    installed = waitFor(ue, 'key-installed', (e) => e.kind === 'msk' && e.mskId === '00010002');
    acked = waitFor(bmsc, 'ack-in');
    const rotated = await callControlApi(bmscEndpoints.control, 'POST', '/rotate-msk', { keyGroup: 1, push: true });
    expect(rotated.body.rotated[0].mskId).toBe('00010002');
    await installed;
    await acked;

    // --- Push solicited pull: trigger (key IDs 0) -> ACK -> HTTP MSK request -> current MSK again ---
    const pulled = waitFor(ue, 'msk-request-done', (e) => e.reason === 'solicited-pull');
    const triggerAcked = waitFor(bmsc, 'ack-in');
    // The UE asks for the MSKs it holds (O20 default 'held'): 00010001 and 00010002; the current one must come.
    const delivered = waitFor(bmsc, 'mikey-out', (e) => e.kind === 'msk' && e.mskId === mskId(1, 2));
    expect((await callControlApi(bmscEndpoints.control, 'POST', '/solicited-pull', { btid: BTID })).status).toBe(200);
    await triggerAcked;
    const pull = await pulled;
    expect(pull).toMatchObject({ httpStatus: 200, accepted: true });
    expect((await delivered).btid).toBe(BTID);

    // --- 6.3.3: MTK update under the current MSK, no answer from the UE ---
    const mtkInstalled = waitFor(ue, 'key-installed', (e) => e.kind === 'mtk' && e.mskId === '00010002');
    // An answer to an MTK message could match no outstanding MSK delivery: it would show as ack-rejected.
    const answered: string[] = [];
    // A second ACK of an MSK delivery (a fresh copy that crossed the first ACK on a busy host) is harmless
    // (protocol §6.3) and answers no MTK message: it does not count here.
    bmsc.on('ack-rejected', (e) => { if (!/duplicate ACK/.test(e.reason)) answered.push(e.reason); });
    expect((await callControlApi(bmscEndpoints.control, 'POST', '/mtk-update', {})).body.messages).toHaveLength(1);
    expect((await mtkInstalled).mtkId).toBe('0001');

    // --- Retransmission: the UE's first copies go unanswered, a later fresh copy is ACKed ---
    await callControlApi(ueEndpoints.control, 'PUT', '/faults', { active: ['ue-no-ack'] });
    const second = waitFor(bmsc, 'mikey-out', (e) => e.kind === 'msk' && e.attempt === 2);
    const lateAck = waitFor(bmsc, 'ack-in');
    await callControlApi(bmscEndpoints.control, 'POST', '/push', { btid: BTID });
    await second;
    await callControlApi(ueEndpoints.control, 'PUT', '/faults', { active: [] });
    const ackOfRetransmission = await lateAck;
    const acknowledged = sentMessages.find((e) => e.counter === ackOfRetransmission.counter && e.kind === 'msk');
    expect(acknowledged!.attempt).toBeGreaterThanOrEqual(2); // a fresh-counter copy, not the first one
    expect(answered).toEqual([]); // nothing ever answered the MTK message

    // --- Stale nonce: the UE's nonce expires; 401 stale=true; the UE retries with the new nonce ---
    clock.now += profile().http.nonceTtlMs + 1;
    const outcomes: string[] = [];
    bmsc.on('http-response', (e) => outcomes.push(e.outcome));
    const staleRun = await ue.requestMsks();
    expect(staleRun).toMatchObject({ httpStatus: 200, accepted: true, bootstrapRequired: false });
    expect(outcomes).toContain('stale');
    expect(outcomes.at(-1)).toBe('ok');

    // --- BM-SC restart with the same state file: counters continue, the UE accepts (no replay) ---
    const before = (await callControlApi(ueEndpoints.control, 'GET', '/state')).body;
    const lastCounter = Math.max(...mukCountersSeen);
    await bmsc.stop();
    bmsc = makeBmsc(bmscEndpoints.http.port, [user]);
    record(bmsc);
    await bmsc.start();
    const restartOutcomes: string[] = [];
    bmsc.on('http-response', (e) => restartOutcomes.push(e.outcome));
    const replays: unknown[] = [];
    ue.on('discarded', (e) => { if (e.reason === 'replay') replays.push(e); });
    acked = waitFor(bmsc, 'ack-in');
    // The old nonce is unknown to the new process: 401 stale=true, then 200 with the new nonce.
    let afterRestart = await ue.requestMsks();
    if (afterRestart.httpStatus === 0 && /hang up|ECONNRESET/.test(afterRestart.problem ?? '')) {
      // The UE reused its keep-alive connection to the stopped process before seeing the FIN; the request
      // never reached a BM-SC, so asking again is what a UE does (transport failure, not a protocol outcome).
      afterRestart = await ue.requestMsks();
    }
    expect(afterRestart, afterRestart.problem).toMatchObject({ httpStatus: 200, accepted: true, bootstrapRequired: false });
    expect(restartOutcomes).toContain('unknown-nonce'); // answered with stale=true: the digest was right
    const ackAfterRestart = await acked;
    expect(ackAfterRestart.counter).toBeGreaterThan(lastCounter);
    expect(replays).toEqual([]);
    const after = (await callControlApi(ueEndpoints.control, 'GET', '/state')).body;
    expect(after.counters.muk).toBeGreaterThan(before.counters.muk);
    // The MSK survived the restart too (same key, same RAND): the UE still holds 00010002 and gets MTKs under it.
    const mtkAfter = waitFor(ue, 'key-installed', (e) => e.kind === 'mtk' && e.mskId === '00010002');
    await callControlApi(bmsc.endpoints.control, 'POST', '/mtk-update', {});
    expect((await mtkAfter).mtkId).toBe('0002');
    // Every MUK counter the BM-SC ever sent, across both processes, is distinct and increasing.
    for (let i = 1; i < mukCountersSeen.length; i++) expect(mukCountersSeen[i]).toBeGreaterThan(mukCountersSeen[i - 1]!);
  } finally {
    await ue.stop();
    await bmsc.stop();
  }
});
