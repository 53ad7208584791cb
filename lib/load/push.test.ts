// Push load runs (push-group) against the reference BM-SC: every subscribed UE gets the new MSK and
// acknowledges it, with the time measured; a fault shows as failures by check with evidence naming the UE,
// or as lost ACKs; slices in child processes give the same figures, merged.
import { test, expect } from '@playwright/test';
import { ReferenceBmsc } from '../reference/index.ts';
import { embeddedLoadProfile, population } from './population.ts';
import { runPush, type PushSummary } from './push.ts';

const keyDomainId = Buffer.from('001001', 'hex');
const SEED = 'push test';
let slice = 0;

/** A push of group 1 by a reference BM-SC with `faults` to `ues` subscribed UEs and `unsubscribed` others. */
async function push(faults: string[], options: { ues: number; unsubscribed: number; processes?: number; timeoutS?: number }): Promise<PushSummary> {
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
  await bmsc.start();
  try {
    return await runPush({
      ues: options.ues, unsubscribed: options.unsubscribed, firstUe, seed: SEED, port, keyDomainId, keyGroup: 1, profile,
      processes: options.processes ?? 0, timeoutS: options.timeoutS ?? 20,
      trigger: async () => { await bmsc.rotateMsk({ keyDomainId, keyGroup: 1, push: true }); },
    });
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

test('a BM-SC with a bad MAC: mikey.mac failures, nothing acknowledged, the UEs counted as not acknowledged', async () => {
  const s = await push(['bmsc-bad-mac'], { ues: 8, unsubscribed: 0, timeoutS: 2 });
  expect(s.conformanceFailures['mikey.mac']).toBeGreaterThanOrEqual(8);
  expect(s.acknowledged).toBe(0);
  expect(s.errors['not-delivered']).toBe(8);
  expect(s.allAcknowledgedMs).toBeUndefined();
});

test('a BM-SC that keeps retransmitting after the ACK: lost ACKs counted once per UE', async () => {
  const s = await push(['bmsc-retransmit-after-ack'], { ues: 6, unsubscribed: 0 });
  expect(s.acknowledged).toBe(6);
  expect(s.lostAcks).toBe(6);
  expect(s.retransmissions).toBeGreaterThanOrEqual(12); // the crossing copy and at least one more each
  expect(s.conformanceFailures).toEqual({});
});
