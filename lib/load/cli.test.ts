// `mbms-conform load` as a user runs it: exit codes, the JSON summary's fields, a fault shown as failures.
import { test, expect } from '@playwright/test';
import { runCommand } from '../cli/run-command.ts';

/** UE addresses and a MIKEY port of their own (load.test.ts takes slices from index 0; 4359 may be held on the wildcard address). */
const load = (args: string[]) => runCommand(['load', '--first-ue', String(1_000_000 + test.info().parallelIndex * 10_000), '--ue-mikey-port', String(47_000 + test.info().parallelIndex), ...args]);

test('a short open-loop run: exit 0 and one JSON summary with the figures a datasheet needs', async () => {
  const r = await load(['--rate', '20', '--duration', '1', '--ues', '5', '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s).toMatchObject({ scenario: 'msk-request', mode: 'open-loop', rate: 20, ues: 5, lostAcks: 0, errors: {}, conformanceFailures: {} });
  expect(s.completed).toBe(s.offered);
  expect(Object.keys(s.latencyMs)).toEqual(['p50', 'p90', 'p99', 'p999', 'max', 'count']);
  expect(s.completedPerSecond).toBeGreaterThan(10);
  expect(s.sut).toEqual({ name: 'reference BM-SC (embedded)', faults: [] });
});

test('a faulty BM-SC under load: exit 1 and the failing check in the summary', async () => {
  const r = await load(['--rate', '20', '--duration', '1', '--ues', '5', '--fault', 'bmsc-bad-mac']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/conformance failures: .*mikey\.mac \d+/);
});

test('bad input: exit 2 with one line naming the option', async () => {
  const r = await load(['--rate', '0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--rate 0: a number above 0');
  const both = await load(['--rate', '5', '--concurrency', '2']);
  expect(both.code).toBe(2);
  const fault = await load(['--fault', 'bmsc-no-such-fault', '--duration', '1']);
  expect(fault.code).toBe(2);
  expect(fault.stderr).toContain('bmsc-no-such-fault');
});
