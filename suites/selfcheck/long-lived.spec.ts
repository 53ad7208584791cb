// Self-validation against long-lived SUTs: one reference BM-SC and one reference UE, each started once for
// the whole run and reached only through a SUT profile (fixtures/long-lived.ts), meet every case of their
// role one after the other in file order. A conformant SUT that remembers every earlier case must PASS every
// applicable case, as a fresh one does. (The shuffled order, fault-free and with every fault, is the
// long-lived fault matrix: fault-matrix.spec.ts.)
//
// A third run reads the open points otherwise, as a vendor's BM-SC may and says so in its profile: an O18
// schedule whose copies outlive the case that caused them (700 ms apart), sent to a tester MIKEY port that
// stays the same in every case (as a UE's port 4359 does), the current MSK requested as 0x00000000, and a
// CSB ID drawn once per delivery and kept by its retransmissions (O10, then judged on every copy).
// Every case must still PASS: a copy of an earlier case's delivery is that case's, never a later one's.
import { test, expect } from '@playwright/test';
import { headline, loadCases, runCaseJudged } from '../../lib/suite/index.ts';
import { startLongLived, type LongLivedOptions } from '../../fixtures/long-lived.ts';

test.describe.configure({ mode: 'parallel' });

const RUNS: { role: 'bmsc' | 'ue'; name: string; options: LongLivedOptions }[] = [
  { role: 'bmsc', name: 'reference BM-SC', options: {} },
  { role: 'ue', name: 'reference UE', options: {} },
  {
    role: 'bmsc', name: 'BM-SC with a slow O18 schedule, one tester MIKEY port, current MSK as 0x00000000, CSB ID per delivery',
    options: { overrides: { retransmission: { intervalMs: 700, count: 3 }, keyIds: { currentMsk: 'all-zero' }, mikey: { csbId: { msk: 'random-per-delivery' } } } },
  },
];

for (const { role, name, options } of RUNS) {
  test(`long-lived ${name}, every case in file order: PASS or NOT-APPLICABLE`, async () => {
    test.setTimeout(300_000);
    const { sut, stop } = await startLongLived(role, options);
    const bad: string[] = [];
    try {
      for (const c of loadCases(role)) {
        const r = await runCaseJudged(c, { sut }); // a host too loaded to judge is run again, not a verdict
        if (r.verdict !== 'PASS' && r.verdict !== 'NOT-APPLICABLE') {
          const h = headline(r);
          bad.push(`${c.id}: ${r.verdict} ${h?.check}: ${h?.message} (expected ${JSON.stringify(h?.expected)}, actual ${JSON.stringify(h?.actual)})`);
        }
      }
    } finally {
      await stop();
    }
    expect(bad).toEqual([]);
  });
}
