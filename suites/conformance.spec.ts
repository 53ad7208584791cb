// One Playwright test per conformance case, generated from the YAML suites (suites/bmsc, suites/ue).
//
// Titles start with the case id, so `--grep bmsc/6.3.1` selects a clause and `--grep bmsc/6.3.1/03` one
// case. Every test carries the tag `@role-<role>`: the Playwright projects `bmsc` and `ue` select their role
// with `grep` on it, and their metadata `{ role }` is checked again at run time. The SUT is the embedded
// reference of the role, or the external SUT of MBMS_SUT=<profile.yaml>. The verdict becomes the test's
// outcome through lib/suite/status-map.ts (the one mapping), and lib/report's reportCase writes labels,
// steps and attachments (pcap, ladder, MIKEY decode, digest worksheet).

import { test } from '@playwright/test';
import {
  ConformanceFailure, HarnessFailure, InconclusiveFailure, estimateCaseTimeout, headline, loadCases, mapVerdict, runCase,
  verdictAnnotation, type CaseDef, type CaseResult,
} from '../lib/suite/index.ts';
import { caseAnnotation, reportCase } from '../lib/report/index.ts';
import { sutForRole } from '../fixtures/embedded.ts';

const ROLES = ['bmsc', 'ue'] as const;

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function reasonOf(result: CaseResult): string {
  const h = headline(result);
  return h ? `${h.check}: ${h.message}` : '';
}

function tagsOf(c: CaseDef): string[] {
  return [`@role-${c.role}`, ...c.checks.map((k) => `@${k}`), `@${c.variant}`, ...(c.mandatory ? [] : ['@optional'])];
}

/**
 * How many protocol windows a case waits out in full when the SUT conforms: its silence steps, and a
 * nonce it lets expire. Cases are declared most-waiting first, so that the workers (fullyParallel: one
 * case at a time, in declaration order) take the long cases early and end together instead of one
 * worker finishing a two-second case after the others ran dry. Reports list cases by id regardless.
 */
function fullWindows(c: CaseDef): number {
  return c.steps.filter((s) => s.action === 'expect-silence' || s.params.fault === 'stale-nonce').length;
}

// A malformed suite file throws here, at collection: the run stops naming the file, line and field.
// Array.prototype.sort is stable: cases that wait alike keep their order by role and id.
const declared = ROLES.flatMap((role) => loadCases(role)).map((c) => ({ c, waits: fullWindows(c) })).sort((a, b) => b.waits - a.waits);
for (const { c } of declared) {
  const role = c.role;
  // The 'case' annotation puts the case in the run plan before it runs, so a case an interrupted run
  // never reached is reported NOT-RUN rather than left out (lib/report/run-plan.ts).
  const planned = caseAnnotation({
    id: c.id, role: c.role, clause: c.clause, procedure: c.procedure, title: c.title, requirement: c.requirement, mandatory: c.mandatory, severity: c.severity,
  });
  test(`${c.id} ${c.title}`, { tag: tagsOf(c), annotation: [{ type: 'requirement', description: c.requirement }, planned] }, async ({}, testInfo) => {
    const projectRole = (testInfo.project.metadata as { role?: string } | undefined)?.role;
    test.skip(projectRole !== undefined && projectRole !== role, `project ${testInfo.project.name} runs the ${projectRole} suites`);
    const sut = sutForRole(role);
    if ('skip' in sut) {
      testInfo.annotations.push(verdictAnnotation('NOT-APPLICABLE', sut.skip));
      test.skip(true, sut.skip);
      return;
    }
    testInfo.setTimeout(estimateCaseTimeout(c, sut) + 15_000);
    // The pcap's backend (docs/capture.md); runCase reads MBMS_CAPTURE itself and errs on a wrong value
    testInfo.annotations.push({ type: 'capture', description: process.env.MBMS_CAPTURE?.trim() || 'tap' });
    const result = await runCase(c, {
      sut,
      worker: testInfo.parallelIndex,
      pcapPath: testInfo.outputPath(`${c.id.replace(/\//g, '_')}.pcap`),
      ...(process.env.MBMS_VERBOSE ? { log: (line: string) => process.stdout.write(`[${c.id}] ${line}\n`) } : {}),
    });
    const reason = reasonOf(result);
    testInfo.annotations.push(verdictAnnotation(result.verdict, reason));
    await reportCase(result, testInfo, { profileName: sut.embedded ? 'reference' : (process.env.MBMS_SUT ?? sut.name) });
    await testInfo.attach('case-result.json', {
      body: Buffer.from(stringify({ ...result, trace: result.trace.map((e) => ({ ...e, ...('bytes' in e ? { bytes: e.bytes.toString('hex') } : {}), ...('body' in e ? { body: e.body.toString('utf8') } : {}) })) })),
      contentType: 'application/json',
    });
    const mapping = mapVerdict(result.verdict);
    const h = headline(result);
    switch (mapping.ending) {
      case 'return': return;
      case 'skip': test.skip(true, `NOT-APPLICABLE: ${reason}`); return;
      case 'assertion-error': throw new ConformanceFailure(`FAIL [${result.clause}] ${reason}`, h?.expected, h?.actual);
      case 'inconclusive': throw new InconclusiveFailure(`INCONC [${result.clause}] ${reason}`);
      case 'error': throw new HarnessFailure(`ERROR [${result.clause}] ${reason}`);
    }
  });
}
