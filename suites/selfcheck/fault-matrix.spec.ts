// Self-validation of the suites (DESIGN.md "Every check can fail"): the fault matrix.
//
// Per role: every case runs against the fault-free reference (each applicable case must PASS), then against
// the reference with each fault of its table injected alone; the cases that FAIL must be exactly the ones
// fixtures/fault-matrix.expected.yaml declares. The matrix is written to reports/fault-matrix-<role>.json
// and .md. One test for the baseline and one per fault, so a regression names the fault it concerns.
//
// Two modes, the same expectations: 'fresh' (a new reference per case) and 'long-lived' (one reference
// per row, started once and reached only through its SUT profile, meeting every case in a shuffled order:
// fixtures/long-lived.ts). A verdict that holds only against a fresh SUT, or only in file order, fails here.
// The shuffle's seed is printed and written in the matrix; MBMS_SHUFFLE_SEED replays it.
//
// Every one of those tests runs and reports on its own (mode 'default', not 'serial'): a failing fault
// does not hide the verdicts of the others. The matrix itself is computed once per role and run: when a
// failure makes Playwright replace the worker, the new worker reads the matrix from a cache file keyed by
// the Playwright runner process (its pid and start time) and by what the matrix is made of (cases,
// faults, expectations), so it is never recomputed within a run and never reused across runs.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect } from '@playwright/test';
import { BMSC_FAULTS, UE_FAULTS } from '../../lib/reference/index.ts';
import { loadCases, loadExpectedCatches, runFaultMatrix, writeFaultMatrix, type FaultInfo, type FaultMatrix } from '../../lib/suite/index.ts';
import { embeddedBmsc, embeddedUe } from '../../fixtures/embedded.ts';
import { startLongLived } from '../../fixtures/long-lived.ts';

const EXPECTED = fileURLToPath(new URL('../../fixtures/fault-matrix.expected.yaml', import.meta.url));
const REPORTS = fileURLToPath(new URL('../../reports', import.meta.url));

const ROLES = [
  { role: 'bmsc' as const, faults: BMSC_FAULTS as readonly FaultInfo[], provider: (faults: string[]) => embeddedBmsc({ faults }) },
  { role: 'ue' as const, faults: UE_FAULTS as unknown as readonly FaultInfo[], provider: (faults: string[]) => embeddedUe({ faults }) },
];

/** This run of Playwright: the runner process that forked the worker (pid and, on Linux, its start time). */
function runnerId(): string {
  let started = '';
  try {
    // /proc/<pid>/stat field 22 (starttime): a pid reused by a later run has another start time.
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch { /* not Linux: the pid alone */ }
  return `${process.ppid}-${started}`;
}

/** The role's matrix of this run: read from the cache when an earlier worker of the run computed it. */
async function matrixOfRun(role: string, cacheDir: string, compute: () => Promise<FaultMatrix>, ingredients: unknown): Promise<FaultMatrix> {
  const key = createHash('sha256').update(JSON.stringify({ run: runnerId(), ingredients })).digest('hex').slice(0, 16);
  const file = join(cacheDir, `fault-matrix-${role}-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as FaultMatrix;
  const matrix = await compute();
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(matrix));
  renameSync(`${file}.tmp`, file);
  return matrix;
}

// One seed for the whole run (every worker derives the same one from the runner), unless given.
const SEED = Number(process.env.MBMS_SHUFFLE_SEED ?? (parseInt(createHash('sha256').update(runnerId()).digest('hex').slice(0, 8), 16) % 1_000_000));

for (const { role, faults, provider } of ROLES) for (const mode of ['fresh', 'long-lived'] as const) {
  const label = mode === 'fresh' ? role : `${role} long-lived`;
  test.describe(`fault matrix, ${role === 'bmsc' ? 'BM-SC' : 'UE'} under test, ${mode === 'fresh' ? 'fresh per case' : 'long-lived, shuffled'}`, () => {
    // In order in one worker (the matrix is shared), but each test judged on its own.
    test.describe.configure({ mode: 'default' });
    const cases = loadCases(role);
    let matrix: FaultMatrix | undefined;

    test.beforeAll(async ({}, testInfo) => {
      if (cases.length === 0) return;
      testInfo.setTimeout(30 * 60_000);
      const expected = loadExpectedCatches(EXPECTED);
      const cacheDir = join(testInfo.project.outputDir, 'fault-matrix-cache');
      if (mode === 'long-lived') console.log(`fault matrix ${role} long-lived: cases shuffled with MBMS_SHUFFLE_SEED=${SEED}`);
      matrix = await matrixOfRun(`${role}-${mode}`, cacheDir, async () => {
        const m = await runFaultMatrix({
          role, cases, faults, provider, expected,
          ...(mode === 'long-lived' ? { longLived: { start: (f: string[]) => startLongLived(role, { faults: f }), seed: SEED } } : {}),
          concurrency: Number(process.env.MBMS_MATRIX_CONCURRENCY ?? 4),
        });
        writeFaultMatrix(m, REPORTS);
        return m;
      }, { cases, faults: faults.map((f) => f.name), expected, mode, seed: SEED, concurrency: process.env.MBMS_MATRIX_CONCURRENCY ?? '' });
      if (mode === 'long-lived') testInfo.annotations.push({ type: 'seed', description: `MBMS_SHUFFLE_SEED=${matrix.seed}` });
    });

    test(`${label}: the fault-free reference passes every applicable case`, async ({}, testInfo) => {
      test.skip(cases.length === 0, `no ${role} cases yet`);
      const m = matrix!;
      const file = `fault-matrix-${role}${mode === 'long-lived' ? '-long-lived' : ''}`;
      await testInfo.attach(`${file}.md`, { path: `${REPORTS}/${file}.md`, contentType: 'text/markdown' });
      await testInfo.attach(`${file}.json`, { path: `${REPORTS}/${file}.json`, contentType: 'application/json' });
      const bad = Object.entries(m.baseline).filter(([, c]) => c.verdict !== 'PASS' && c.verdict !== 'NOT-APPLICABLE').map(([id, c]) => `${id}: ${c.verdict} ${c.reason ?? ''}`);
      expect(bad, 'cases not passing against the fault-free reference').toEqual([]);
      expect(m.problems.filter((p) => p.startsWith('expectations name')), 'expectations for unknown faults').toEqual([]);
    });

    for (const fault of faults.filter((f) => f.role === role)) {
      test(`${label}: fault ${fault.name} is caught, and only by the expected cases`, async () => {
        test.skip(cases.length === 0, `no ${role} cases yet`);
        const m = matrix!;
        const row = m.cells[fault.name]!;
        const failing = m.cases.filter((id) => row[id]!.verdict === 'FAIL');
        expect(failing.length, `no case catches ${fault.name} (${fault.description}) — a missing test`).toBeGreaterThan(0);
        const problems = m.problems.filter((p) => p.startsWith(`${fault.name}:`));
        expect(problems, `verdicts under ${fault.name} differ from fixtures/fault-matrix.expected.yaml${mode === 'long-lived' ? ` (long-lived, MBMS_SHUFFLE_SEED=${m.seed})` : ''}`).toEqual([]);
      });
    }
  });
}
