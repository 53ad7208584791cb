// Self-validation of the suites (DESIGN.md "Every check can fail"): the fault matrix.
//
// Per role: every case runs against the fault-free reference (each applicable case must PASS), then against
// the reference with each fault of its table injected alone; the cases that FAIL must be exactly the ones
// fixtures/fault-matrix.expected.yaml declares. The matrix is written to reports/fault-matrix-<role>.json
// and .md. One test for the baseline and one per fault, so a regression names the fault it concerns.

import { fileURLToPath } from 'node:url';
import { test, expect } from '@playwright/test';
import { BMSC_FAULTS, UE_FAULTS } from '../../lib/reference/index.ts';
import { loadCases, loadExpectedCatches, runFaultMatrix, writeFaultMatrix, type FaultInfo, type FaultMatrix } from '../../lib/suite/index.ts';
import { embeddedBmsc, embeddedUe } from '../../fixtures/embedded.ts';

const EXPECTED = fileURLToPath(new URL('../../fixtures/fault-matrix.expected.yaml', import.meta.url));
const REPORTS = fileURLToPath(new URL('../../reports', import.meta.url));

const ROLES = [
  { role: 'bmsc' as const, faults: BMSC_FAULTS as readonly FaultInfo[], provider: (faults: string[]) => embeddedBmsc({ faults }) },
  { role: 'ue' as const, faults: UE_FAULTS as unknown as readonly FaultInfo[], provider: (faults: string[]) => embeddedUe({ faults }) },
];

for (const { role, faults, provider } of ROLES) {
  test.describe(`fault matrix, ${role === 'bmsc' ? 'BM-SC' : 'UE'} under test`, () => {
    test.describe.configure({ mode: 'serial' });
    const cases = loadCases(role);
    let matrix: FaultMatrix | undefined;

    test.beforeAll(async ({}, testInfo) => {
      if (cases.length === 0) return;
      testInfo.setTimeout(30 * 60_000);
      matrix = await runFaultMatrix({
        role, cases, faults, provider, expected: loadExpectedCatches(EXPECTED),
        concurrency: Number(process.env.MBMS_MATRIX_CONCURRENCY ?? 4),
      });
      writeFaultMatrix(matrix, REPORTS);
    });

    test(`${role}: the fault-free reference passes every applicable case`, async ({}, testInfo) => {
      test.skip(cases.length === 0, `no ${role} cases yet`);
      const m = matrix!;
      await testInfo.attach(`fault-matrix-${role}.md`, { path: `${REPORTS}/fault-matrix-${role}.md`, contentType: 'text/markdown' });
      await testInfo.attach(`fault-matrix-${role}.json`, { path: `${REPORTS}/fault-matrix-${role}.json`, contentType: 'application/json' });
      const bad = Object.entries(m.baseline).filter(([, c]) => c.verdict !== 'PASS' && c.verdict !== 'NOT-APPLICABLE').map(([id, c]) => `${id}: ${c.verdict} ${c.reason ?? ''}`);
      expect(bad, 'cases not passing against the fault-free reference').toEqual([]);
      expect(m.problems.filter((p) => p.startsWith('expectations name')), 'expectations for unknown faults').toEqual([]);
    });

    for (const fault of faults.filter((f) => f.role === role)) {
      test(`${role}: fault ${fault.name} is caught, and only by the expected cases`, async () => {
        test.skip(cases.length === 0, `no ${role} cases yet`);
        const m = matrix!;
        const row = m.cells[fault.name]!;
        const failing = m.cases.filter((id) => row[id]!.verdict === 'FAIL');
        expect(failing.length, `no case catches ${fault.name} (${fault.description}) — a missing test`).toBeGreaterThan(0);
        const problems = m.problems.filter((p) => p.startsWith(`${fault.name}:`));
        expect(problems, `verdicts under ${fault.name} differ from fixtures/fault-matrix.expected.yaml`).toEqual([]);
      });
    }
  });
}
