// The tester's starvation meter (loop-monitor.ts) and the deadline rule built on it (context.ts
// missedDeadline): a deadline missed while the tester's own event loop was held is INCONC with the
// figures, one missed while the tester ran freely is FAIL.
import { test, expect } from '@playwright/test';
import { missedDeadline, type CaseRun } from './context.ts';
import { starvationMeter } from './loop-monitor.ts';
import { VerdictTracker } from './verdict.ts';

const hold = (ms: number): void => { const until = performance.now() + ms; while (performance.now() < until) { /* the loop is held */ } };
const turns = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('the meter sees a held event loop as lag, and an idle wait as none', async () => {
  // An idle wait, three times, the least lagged kept: on a host loaded by other processes one 200 ms wait
  // lost 112 ms to them (CI with two CPU hogs beside the workers); the host's share is bursty, the meter's
  // reading of an idle loop is what is under test
  const waits = [];
  for (let i = 0; i < 3; i++) {
    const idle = starvationMeter();
    await turns(200);
    waits.push(idle.read());
  }
  const free = waits.reduce((a, b) => (b.lagMs < a.lagMs ? b : a));
  for (const w of waits) expect(w.wallMs).toBeGreaterThanOrEqual(195);

  const held = starvationMeter();
  await turns(20);
  hold(300);
  await turns(20);
  const starved = held.read();
  expect(starved.longestStallMs).toBeGreaterThanOrEqual(290);
  expect(starved.lagMs).toBeGreaterThanOrEqual(290);
  // an idle wait loses only what the host takes from it (nothing on an idle host), never a held loop's share
  expect(free.lagMs).toBeLessThan(starved.lagMs - 200);
  // CPU time is what the host gave the busy loop: about the stall when idle, a fraction on a loaded host
  expect(starved.cpuMs).toBeGreaterThan(0);
});

test('a missed deadline is FAIL when the SUT had the whole window of the tester\'s running time, INCONC with the figures when not', async () => {
  const run = (): CaseRun => ({ tracker: new VerdictTracker() }) as unknown as CaseRun;
  const ev = { events: [], frames: [] };

  const ran = run();
  const calm = starvationMeter();
  // waited four times the window: the SUT had its whole window of running time unless the host took 3/4
  await turns(400);
  missedDeadline(ran, calm, 100, 'mikey.delivery', 'the SUT sends 1 msk message(s) within 100 ms', '1 msk message(s)', 'none', ev);
  expect(ran.tracker.findings.map((f) => f.verdict)).toEqual(['FAIL']);

  const starved = run();
  const busy = starvationMeter();
  hold(250);
  missedDeadline(starved, busy, 100, 'mikey.delivery', 'the SUT sends 1 msk message(s) within 100 ms', '1 msk message(s)', 'none', ev);
  const [finding] = starved.tracker.findings;
  expect(finding).toMatchObject({ verdict: 'INCONC', check: 'mikey.delivery', expected: '1 msk message(s)', actual: 'none' });
  expect(finding!.message).toMatch(/not judged, the tester was starved: \d+ ms of its running time in the window \(event loop \d+ ms behind in total \(longest stall \d+ ms\), process CPU \d+ ms in \d+ ms wall\)/);
});
