// JUnit XML of a conformance run, written from the same case list as the certification summary and the
// terminal (judged case results completed with the run plan), so the three never disagree. Playwright's
// own JUnit reporter cannot: it knows only passed/failed/skipped, turns an interrupted test into
// <skipped> and omits the tests that never started.
//
//   verdict          JUnit                                 counted in
//   PASS             <testcase/>                           tests
//   FAIL             <failure type="FAIL">                 failures
//   INCONC           <failure type="INCONC">               failures (not shown to conform)
//   ERROR            <error type="ERROR">                  errors
//   NOT-APPLICABLE   <skipped message="NOT-APPLICABLE: …"> skipped
//   NOT-RUN          <skipped message="NOT-RUN: …">        skipped
//
// Every testcase carries its verdict as a property; the root carries the gate, its reason and whether
// the run was interrupted, for CI systems that show properties.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GateResult } from './gate.ts';
import { escapeAttr, escapeText } from './markup.ts';
import { reportedReason, type ReportedCase } from './run-plan.ts';
import { parentSuiteForRole } from './status.ts';

const attr = (v: string | number): string => `"${escapeAttr(String(v))}"`;

function testcase(c: ReportedCase): string {
  const reason = reportedReason(c);
  const message = `${c.verdict}${reason ? `: ${reason}` : ''}`;
  const props = `<properties><property name="verdict" value=${attr(c.verdict)}/><property name="mandatory" value=${attr(String(c.mandatory))}/></properties>`;
  const open = `    <testcase name=${attr(`${c.id} ${c.title}`)} classname=${attr(`${c.role}.${c.clause}`)} time=${attr((c.durationMs / 1000).toFixed(3))}>`;
  let body = '';
  switch (c.verdict) {
    case 'PASS': break;
    case 'FAIL': case 'INCONC': body = `<failure type=${attr(c.verdict)} message=${attr(message)}>${escapeText(message)}</failure>`; break;
    case 'ERROR': body = `<error type="ERROR" message=${attr(message)}>${escapeText(message)}</error>`; break;
    case 'NOT-APPLICABLE': case 'NOT-RUN': body = `<skipped message=${attr(message)}/>`; break;
  }
  return `${open}${props}${body}</testcase>`;
}

function counts(cases: readonly ReportedCase[]): { tests: number; failures: number; errors: number; skipped: number; time: number } {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'INCONC').length,
    errors: cases.filter((c) => c.verdict === 'ERROR').length,
    skipped: cases.filter((c) => c.verdict === 'NOT-APPLICABLE' || c.verdict === 'NOT-RUN').length,
    time: cases.reduce((t, c) => t + c.durationMs, 0) / 1000,
  };
}

const countAttrs = (n: ReturnType<typeof counts>): string =>
  `tests=${attr(n.tests)} failures=${attr(n.failures)} errors=${attr(n.errors)} skipped=${attr(n.skipped)} time=${attr(n.time.toFixed(3))}`;

export function conformanceJunit(cases: readonly ReportedCase[], gate: GateResult): string {
  const roles = [...new Set(cases.map((c) => c.role))].sort();
  const suites = roles.map((role) => {
    const mine = cases.filter((c) => c.role === role);
    return [`  <testsuite name=${attr(parentSuiteForRole(role))} ${countAttrs(counts(mine))}>`, ...mine.map(testcase), '  </testsuite>'].join('\n');
  });
  const props = [
    ['gate', gate.gate], ['gate.passed', String(gate.passed)], ['gate.reason', gate.reason], ['interrupted', String(gate.interrupted)],
  ].map(([n, v]) => `    <property name=${attr(n!)} value=${attr(v!)}/>`);
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="mbms-conform" ${countAttrs(counts(cases))}>`, '  <properties>', ...props, '  </properties>', ...suites, '</testsuites>', ''].join('\n');
}

export function writeConformanceJunit(path: string, cases: readonly ReportedCase[], gate: GateResult): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, conformanceJunit(cases, gate));
  return path;
}
