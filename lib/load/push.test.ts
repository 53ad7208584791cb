// Push load runs (push-group) against the reference BM-SC: every subscribed UE gets the new MSK and
// acknowledges it, with the time measured; a fault shows as failures by check with evidence naming the UE,
// or as lost ACKs; slices in child processes give the same figures, merged. The mtk-update scenario on the
// same UEs: every UE takes every update's MTK, and an MTK fault shows as failures of its check.
import { test, expect } from '@playwright/test';
import { ReferenceBmsc } from '../reference/index.ts';
import { embeddedLoadProfile, population } from './population.ts';
import { runPush, type MtkSummary, type PushSummary } from './push.ts';

const keyDomainId = Buffer.from('001001', 'hex');
const SEED = 'push test';
let slice = 0;

interface PushCase { ues: number; unsubscribed: number; processes?: number; timeoutS?: number; pull?: boolean; pullJitterMs?: number }

/** A push of group 1 by a reference BM-SC with `faults` to `ues` subscribed UEs and `unsubscribed` others. */
function push(faults: string[], options: PushCase): Promise<PushSummary> {
  return run(faults, options) as Promise<PushSummary>;
}

/** The push, then MTK updates at `rate` per second for `durationS` s under the pushed MSK (mtk-update). */
function mtkUpdates(faults: string[], options: PushCase & { rate: number; durationS: number }): Promise<MtkSummary> {
  // An MTK not taken within a second counts as not delivered (the default window is 5 s)
  return run(faults, options, { rate: options.rate, durationS: options.durationS, deliveryWindowMs: 1000 }) as Promise<MtkSummary>;
}

async function run(faults: string[], options: PushCase, mtk?: { rate: number; durationS: number; deliveryWindowMs: number }): Promise<PushSummary | MtkSummary> {
  // The load profile with a shorter retransmission interval and T_ack: the quiet wait for copies is one
  // interval past the crossing window, and a test should not wait 6 s for it
  const profile = embeddedLoadProfile();
  profile.retransmission = { ...profile.retransmission, intervalMs: 300 };
  profile.timers = { ...profile.timers, ackMs: 300 };
  const firstUe = 2_000_000 + (test.info().parallelIndex * 16 + slice++) * 1000;
  const port = 48_000 + test.info().parallelIndex;
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.example.com', profile, faults, mtkRekey: false,
    services: [{ keyDomainId, keyGroup: 1, name: 'pushed' }, { keyDomainId, keyGroup: 2, name: 'other' }],
    users: population(options.ues + options.unsubscribed, SEED, firstUe).map((u, i) => ({
      btid: u.btid, ksNaf: u.ksNaf, ueAddress: u.address, uePort: port, subscriptions: [{ keyDomainId, keyGroups: [i < options.ues ? 1 : 2] }],
    })),
  });
  const endpoints = await bmsc.start();
  let mskId = 0;
  const pushOptions = {
    ues: options.ues, unsubscribed: options.unsubscribed, firstUe, seed: SEED, port, keyDomainId, keyGroup: 1, profile,
    processes: options.processes ?? 0, timeoutS: options.timeoutS ?? 20,
    trigger: async () => {
      mskId = Number.parseInt((await bmsc.rotateMsk({ keyDomainId, keyGroup: 1, ...(options.pull ? { solicitedPull: true } : { push: true }) })).rotated[0]!.mskId, 16);
    },
    ...(options.pull ? { pull: { http: endpoints.http, host: 'bmsc.example.com', timeoutMs: 5000, jitterMs: options.pullJitterMs ?? 0 } } : {}),
  };
  try {
    if (!mtk) return await runPush(pushOptions);
    return await runPush({ ...pushOptions, mtk: { ...mtk, trigger: async () => (await bmsc.mtkUpdate({ keyDomainId, mskId }))[0]!.mtkId! } });
  } finally {
    await bmsc.stop();
  }
}

test('a conformant BM-SC: every subscribed UE has the new MSK and acknowledged it, the time is measured', async () => {
  const s = await push([], { ues: 60, unsubscribed: 3 });
  expect(s).toMatchObject({ scenario: 'push-group', ues: 60, unsubscribedUes: 3, delivered: 60, acknowledged: 60, lostAcks: 0, errors: {}, conformanceFailures: {} });
  // one message each, and the copies that crossed an ACK: nothing more, nothing to the unsubscribed UEs
  expect(s.messages).toBe(60 + s.retransmissions);
  expect(s.acksSent).toBe(60);
  expect(s.retransmissions).toBeLessThanOrEqual(60); // at most the copy crossing each ACK (no lost ACK)
  expect(s.latencyMs.count).toBe(60);
  expect(s.allDeliveredMs).toBeGreaterThanOrEqual(s.firstDeliveryMs!);
  expect(s.allAcknowledgedMs).toBeGreaterThanOrEqual(s.allDeliveredMs!);
  expect(s.latencyMs.max).toBeLessThanOrEqual(s.allDeliveredMs! + 1);
  expect(s.deliveriesPer100Ms.reduce((a, b) => a + b, 0)).toBe(60);
  expect(s.completedPerSecond).toBeGreaterThan(0);
});

test('UE slices in two child processes: the same figures, merged', async () => {
  const s = await push([], { ues: 40, unsubscribed: 2, processes: 2 });
  expect(s).toMatchObject({ processes: 2, delivered: 40, acknowledged: 40, lostAcks: 0, conformanceFailures: {}, errors: {} });
  expect(s.latencyMs.count).toBe(40);
  expect(s.deliveriesPer100Ms.reduce((a, b) => a + b, 0)).toBe(40);
});

test('a BM-SC that pushes to users not subscribed to the group: mikey.key-ids failures naming those UEs', async () => {
  const s = await push(['bmsc-grant-unsubscribed'], { ues: 10, unsubscribed: 4 });
  expect(s.conformanceFailures['mikey.key-ids']).toBeGreaterThanOrEqual(4);
  const e = s.evidence.find((x) => x.check === 'mikey.key-ids')!;
  const index = Number(/^load-(\d+)@/.exec(e.ue)![1]);
  expect(index % 1000).toBeGreaterThanOrEqual(10); // one of the unsubscribed UEs (after the 10 subscribed)
  expect(s.delivered).toBe(10);
});

test('a BM-SC with a bad MAC: mikey.mac failures, nothing acknowledged, the UEs counted as not delivered; the run ends once the BM-SC has given up, not at the time-out', async () => {
  const started = performance.now();
  const s = await push(['bmsc-bad-mac'], { ues: 8, unsubscribed: 0, timeoutS: 60 });
  // its retransmissions (3 × 300 ms here) and T_ack, then the idle wait: seconds, not the minute allowed
  expect(performance.now() - started).toBeLessThan(20_000);
  expect(s.conformanceFailures['mikey.mac']).toBeGreaterThanOrEqual(8);
  expect(s.acknowledged).toBe(0);
  expect(s.errors['not-delivered']).toBe(8);
  expect(s.allAcknowledgedMs).toBeUndefined();
});

test('a BM-SC that keeps retransmitting after the ACK: lost ACKs counted once per UE, the first ones as evidence', async () => {
  const t0 = Date.now();
  const s = await push(['bmsc-retransmit-after-ack'], { ues: 6, unsubscribed: 0 });
  expect(s.acknowledged).toBe(6);
  expect(s.lostAcks).toBe(6);
  expect(s.retransmissions).toBeGreaterThanOrEqual(12); // the crossing copy and at least one more each
  // counted apart from the conformance failures (a late tester can make a copy look late), but shown
  expect(s.conformanceFailures).toEqual({});
  const lost = s.evidence.filter((e) => e.check === 'retransmission.after-ack');
  expect(lost).toHaveLength(3);
  expect(lost[0]!.address).toMatch(/^127\./);
  expect(lost[0]!.at).toBeGreaterThan(t0);
  expect(lost[0]!.actual).toMatchObject({ msAfterAck: expect.any(Number) });
});

test('mtk-update against a conformant BM-SC: every UE takes every update\'s MTK, each wait and each fan-out measured', async () => {
  const s = await mtkUpdates([], { ues: 30, unsubscribed: 2, rate: 10, durationS: 0.5 });
  expect(s).toMatchObject({ scenario: 'mtk-update', ues: 30, updates: 5, expected: 150, delivered: 150, repeats: 0, lostAcks: 0, errors: {}, conformanceFailures: {} });
  expect(s.push).toMatchObject({ delivered: 30, acknowledged: 30 });
  expect(s.mtkMessages).toBe(150); // one per UE and update, none to the UEs outside the group
  expect(s.latencyMs.count).toBe(150);
  expect(s.fanOutMs.count).toBe(5);
  expect(new Set(s.perUpdate.map((u) => u.mtkId)).size).toBe(5);
  for (const u of s.perUpdate) expect(u).toMatchObject({ delivered: 30, allDeliveredMs: expect.any(Number) });
  // the updates were triggered 100 ms apart (open loop), whatever the BM-SC answered
  expect(s.perUpdate.at(-1)!.atMs).toBeGreaterThanOrEqual(390);
});

test('mtk-update with the UE slices in two child processes: the same figures, merged', async () => {
  const s = await mtkUpdates([], { ues: 20, unsubscribed: 0, processes: 2, rate: 10, durationS: 0.3 });
  expect(s).toMatchObject({ processes: 2, updates: 3, expected: 60, delivered: 60, errors: {}, conformanceFailures: {} });
  expect(s.latencyMs.count).toBe(60);
});

for (const [fault, check] of [
  ['bmsc-reuse-counter', 'mikey.counter'], ['bmsc-mtk-with-v', 'mikey.v-flag'], ['bmsc-repeat-mtk-id', 'mikey.mtk-id'], ['bmsc-mtk-csb-per-message', 'mikey.csb-id'],
] as const) {
  test(`mtk-update against a BM-SC with ${fault}: ${check} failures with evidence, the MTKs not taken counted`, async () => {
    const s = await mtkUpdates([fault], { ues: 10, unsubscribed: 0, rate: 10, durationS: 0.3 });
    expect(s.conformanceFailures[check]).toBeGreaterThanOrEqual(10);
    expect(s.evidence.find((e) => e.check === check)?.ue).toMatch(/^load-\d+@/);
    expect(s.errors['mtk-not-delivered']).toBeGreaterThan(0);
    expect(s.push).toMatchObject({ acknowledged: 10 });
  });
}

test('pull-group against a conformant BM-SC: every UE takes its trigger, requests the MSK and acknowledges it', async () => {
  const s = await push([], { ues: 30, unsubscribed: 2, pull: true });
  expect(s).toMatchObject({ scenario: 'pull-group', ues: 30, delivered: 30, acknowledged: 30, lostAcks: 0, errors: {}, conformanceFailures: {} });
  expect(s.pull).toMatchObject({ triggers: 30, granted: 30 });
  expect(s.pull!.okMs.count).toBe(30);
  // a trigger and an MSK message to each subscribed UE (and the copies that crossed an ACK), nothing to the others
  expect(s.messages).toBe(60 + s.retransmissions);
  expect(s.acksSent).toBe(60 + s.retransmissions); // the trigger's ACK and the MSK message's (the reference BM-SC sets V=1 on both)
  expect(s.allAcknowledgedMs).toBeGreaterThan(s.pull!.okMs.p50);
});

test('pull-group with the UE slices in two child processes, pulls spread over 300 ms (O20 jitter): the same figures, merged', async () => {
  const s = await push([], { ues: 20, unsubscribed: 0, processes: 2, pull: true, pullJitterMs: 300 });
  expect(s).toMatchObject({ scenario: 'pull-group', processes: 2, delivered: 20, acknowledged: 20, errors: {}, conformanceFailures: {} });
  expect(s.pull).toMatchObject({ triggers: 20, granted: 20 });
});

test('pull-group against a BM-SC whose triggers fail their MAC: mikey.mac failures and no UE pulls (G-U9)', async () => {
  const s = await push(['bmsc-bad-mac'], { ues: 6, unsubscribed: 0, timeoutS: 2, pull: true });
  expect(s.conformanceFailures['mikey.mac']).toBeGreaterThanOrEqual(6);
  expect(s.pull).toMatchObject({ triggers: 0, granted: 0 });
  expect(s.errors).toMatchObject({ 'no-trigger': 6, 'not-delivered': 6 });
});
