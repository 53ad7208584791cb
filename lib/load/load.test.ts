// Load runs against the embedded reference BM-SC: a conformant one completes every procedure with no
// conformance failure; one with a fault shows it as failures by check, with evidence, or as lost ACKs.
import { test, expect } from '@playwright/test';
import { ReferenceBmsc } from '../reference/index.ts';
import { embeddedLoadProfile, population } from './population.ts';
import { runLoad, type LoadOptions, type LoadSummary } from './run.ts';

const keyDomainId = Buffer.from('001001', 'hex');
const SEED = 'load test';

let slice = 0;
async function against(faults: string[], options: Partial<LoadOptions>): Promise<LoadSummary> {
  // The load profile with short timers: the UEs listen for copies one interval past the crossing window
  // after the last ACK, and a test should not wait 6 s for it
  const profile = embeddedLoadProfile();
  profile.retransmission = { ...profile.retransmission, intervalMs: 150 };
  profile.timers = { ...profile.timers, ackMs: 500, httpMs: 2000, deliverMs: 1000 };
  const ues = options.ues ?? 40;
  // UE addresses of their own per test (tests run in parallel workers)
  const firstUe = (test.info().parallelIndex * 16 + slice++) * 1000;
  // and a MIKEY port of their own: a conformance case of another test may hold the wildcard address on 4359
  const ueMikeyPort = 46_000 + test.info().parallelIndex;
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.example.com', profile, faults, mtkRekey: false,
    services: [{ keyDomainId, keyGroup: 1, name: 'load' }],
    users: population(ues, SEED, firstUe).map((u) => ({ btid: u.btid, ksNaf: u.ksNaf, uePort: ueMikeyPort, subscriptions: [{ keyDomainId, keyGroups: [1] }] })),
  });
  const endpoints = await bmsc.start();
  try {
    return await runLoad({
      target: { http: endpoints.http, host: 'bmsc.example.com', keyDomainId, keyGroup: 1 },
      profile, scenario: 'msk-request', ues, firstUe, ueMikeyPort, durationS: 2, seed: SEED, rate: 50, ...options,
    });
  } finally {
    await bmsc.stop();
  }
}

test('open loop against a conformant BM-SC: every procedure completes, every message passes, the figures add up', async () => {
  const s = await against([], { rate: 50, durationS: 2 });
  expect(s.offered).toBeGreaterThanOrEqual(95);
  expect(s.offered).toBeLessThanOrEqual(101);
  expect(s.completed).toBe(s.offered);
  expect(s.errors).toEqual({});
  expect(s.conformanceFailures).toEqual({});
  expect(s.lostAcks).toBe(0);
  // A copy may cross an ACK (a BM-SC starved by a loaded host retransmits before it reads the ACK): with no
  // lost ACK, at most that one copy per delivery
  expect(s.retransmissions).toBeLessThanOrEqual(s.completed);
  expect(s.latencyMs.count).toBe(s.completed);
  expect(s.phasesMs.challenge.count).toBe(s.completed); // the 401 round every time
  expect(s.latencyMs.p50).toBeGreaterThan(0);
  expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
  expect(s.seconds.reduce((n, x) => n + x.completed, 0)).toBe(s.completed);
});

test('nonce reuse: after the first challenge of each UE, no 401 round', async () => {
  const s = await against([], { scenario: 'msk-request-nonce-reuse', ues: 10, rate: 40, durationS: 2 });
  expect(s.completed).toBe(s.offered);
  expect(s.conformanceFailures).toEqual({});
  expect(s.phasesMs.challenge.count).toBeLessThanOrEqual(10);
});

test('closed loop keeps N procedures in flight', async () => {
  // (short: a closed loop takes both cores while it runs, and the conformance self-checks run beside it)
  const s = await against([], { concurrency: 2, rate: undefined, durationS: 0.3 });
  expect(s.mode).toBe('closed-loop');
  expect(s.completed).toBeGreaterThan(2);
  expect(s.conformanceFailures).toEqual({});
});

test('a BM-SC with a bad MAC: conformance failures by check, with evidence naming the UE', async () => {
  const s = await against(['bmsc-bad-mac'], { rate: 20, durationS: 1 });
  expect(s.conformanceFailures['mikey.mac']).toBeGreaterThan(0);
  const e = s.evidence.find((x) => x.check === 'mikey.mac')!;
  expect(e.ue).toMatch(/^load-\d+@bsf\.load\.example\.com$/);
  expect(s.evidence.filter((x) => x.check === 'mikey.mac').length).toBeLessThanOrEqual(3);
});

test('a BM-SC that reuses counters: mikey.counter failures once a UE comes back', async () => {
  const s = await against(['bmsc-reuse-counter'], { ues: 5, rate: 20, durationS: 1.5 });
  expect(s.conformanceFailures['mikey.counter']).toBeGreaterThan(0);
});

test('a BM-SC that retransmits after a valid ACK: lost ACKs counted', async () => {
  const s = await against(['bmsc-retransmit-after-ack'], { ues: 10, rate: 10, durationS: 1.5 });
  expect(s.lostAcks).toBeGreaterThan(0);
  expect(s.retransmissions).toBeGreaterThan(s.lostAcks); // the crossing copy and the later ones
});

test('a warm-up runs and is judged, and stays out of the figures', async () => {
  const s = await against([], { rate: 20, warmupS: 1, durationS: 1 });
  expect(s.warmup).toMatchObject({ seconds: 1 });
  expect(s.warmup!.offered).toBeGreaterThanOrEqual(19);
  expect(s.warmup!.completed).toBe(s.warmup!.offered);
  expect(s.offered).toBeGreaterThanOrEqual(19);
  expect(s.offered).toBeLessThanOrEqual(21);
  expect(s.latencyMs.count).toBe(s.completed);
  const failing = await against(['bmsc-bad-mac'], { rate: 10, warmupS: 1, durationS: 0.1 });
  expect(failing.conformanceFailures['mikey.mac']).toBeGreaterThanOrEqual(8); // the warm-up's count too
});
