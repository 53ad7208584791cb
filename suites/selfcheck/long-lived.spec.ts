// Self-validation against long-lived SUTs: one reference BM-SC and one reference UE, each started once for
// the whole run and reached only through a SUT profile (fixtures/long-lived.ts), meet every case of their
// role one after the other: in file order, and in a shuffled order (seeded; the seed is printed and
// MBMS_SHUFFLE_SEED replays it). A conformant SUT that remembers every earlier case must PASS every
// applicable case in any order, as a fresh one does.
import { test, expect } from '@playwright/test';
import { headline, loadCases, runCaseJudged } from '../../lib/suite/index.ts';
import { shuffled, startLongLived } from '../../fixtures/long-lived.ts';

test.describe.configure({ mode: 'parallel' });

const seed = Number(process.env.MBMS_SHUFFLE_SEED ?? (Date.now() % 1_000_000));

for (const role of ['bmsc', 'ue'] as const) {
  for (const order of ['file order', 'shuffled'] as const) {
    test(`long-lived reference ${role === 'bmsc' ? 'BM-SC' : 'UE'}, every case in ${order}: PASS or NOT-APPLICABLE`, async ({}, testInfo) => {
      test.setTimeout(300_000);
      const cases = order === 'shuffled' ? shuffled(loadCases(role), seed) : loadCases(role);
      if (order === 'shuffled') testInfo.annotations.push({ type: 'seed', description: `MBMS_SHUFFLE_SEED=${seed}` });
      const { sut, stop } = await startLongLived(role);
      const bad: string[] = [];
      try {
        for (const c of cases) {
          const r = await runCaseJudged(c, { sut }); // a host too loaded to judge is run again, not a verdict
          if (r.verdict !== 'PASS' && r.verdict !== 'NOT-APPLICABLE') {
            const h = headline(r);
            bad.push(`${c.id}: ${r.verdict} ${h?.check}: ${h?.message} (expected ${JSON.stringify(h?.expected)}, actual ${JSON.stringify(h?.actual)})`);
          }
        }
      } finally {
        await stop();
      }
      expect(bad, `${order}${order === 'shuffled' ? ` (MBMS_SHUFFLE_SEED=${seed})` : ''}`).toEqual([]);
    });
  }
}
