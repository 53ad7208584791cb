// What happens after the cases ran, for `mbms-conform run` and `mbms-conform report` alike: read
// the CaseResult files, write the Allure results metadata, generate the Allure report(s), write the
// certification summary and evaluate the quality gate. Every step works on whatever exists, so an
// interrupted run still gets its report.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildCertification, writeCertification, type WrittenCertification } from './certification.ts';
import { evaluateGate, type GateResult, type QualityGate } from './gate.ts';
import { DEFAULT_REPORT_DIR, generateAllure2, generateAllure3, writeResultsMetadata, type GeneratedReport } from './generate.ts';
import { DEFAULT_ALLURE_RESULTS_DIR, DEFAULT_RESULTS_DIR, readCaseResults, readRunInfos } from './results.ts';
import { formatClauseSummary } from './summary.ts';
import { isConformanceResult, mergeAllureResults, unjudgedFailures } from './merge.ts';
import { writeConformanceJunit } from './junit.ts';
import { completeWithPlan, readRunPlans, type ReportedCase } from './run-plan.ts';

export interface BuildReportsOptions {
  resultsDir?: string;
  allureResultsDir?: string;
  /** Directory of the outputs: allure-report/, allure2-report/, certification.{json,html}. Default 'reports'. */
  outDir?: string;
  singleFile?: boolean;
  allure2?: boolean;
  /** Skip the Allure generators (certification and summary only). */
  noAllure?: boolean;
  gate?: QualityGate;
  /** The runner itself saw the run interrupted (Ctrl-C); the run plans say so too when they exist. */
  interrupted?: boolean;
  /** Where the conformance JUnit XML goes (default <outDir>/junit.xml); false: none. */
  junitFile?: string | false;
  log?: (line: string) => void;
}

export interface BuiltReports {
  /** Every case of the run: judged, unjudged (ERROR) and never run (NOT-RUN). */
  cases: ReportedCase[];
  interrupted: boolean;
  notRun: string[];
  junitPath?: string;
  summary: string;
  certification: WrittenCertification;
  allure3?: GeneratedReport;
  allure2?: GeneratedReport;
  gate: GateResult;
  /** Conformance tests that failed without a verdict (no CaseResult): a harness error the gate must not ignore. */
  unjudged: string[];
  /** Cases started and never ended (stopped by the interrupt): the terminal never showed their verdict. */
  stoppedMidway: string[];
  /** Generator failures (the other outputs are still written). */
  errors: Error[];
}

export async function buildReports(opts: BuildReportsOptions = {}): Promise<BuiltReports> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const resultsDir = opts.resultsDir ?? DEFAULT_RESULTS_DIR;
  const allureResultsDir = opts.allureResultsDir ?? DEFAULT_ALLURE_RESULTS_DIR;
  const outDir = opts.outDir ?? 'reports';
  const judged = readCaseResults(resultsDir).map((l) => l.result);
  const plans = readRunPlans(resultsDir).map((p) => p.plan);
  const completed = completeWithPlan(judged, plans);
  // Without a plan (results merged from an older run), tests that died unjudged are found in the Allure results.
  const unjudged = plans.length ? completed.unjudged : unjudgedFailures(allureResultsDir);
  const interrupted = (opts.interrupted ?? false) || completed.interrupted;
  const cases = completed.cases;
  const runs = readRunInfos(resultsDir);
  const summary = formatClauseSummary(cases);
  const errors: Error[] = [];
  const built: Partial<BuiltReports> = {};

  const certification = writeCertification(buildCertification(cases, runs, { gate: opts.gate ?? 'no-fail', interrupted }), outDir);
  log(`certification summary: ${certification.htmlPath} (${certification.jsonPath}, SHA-256 ${certification.sha256})`);

  if (!opts.noAllure && existsSync(allureResultsDir)) {
    // The generators read a staged copy holding only the conformance cases (see isConformanceResult).
    const staged = join(outDir, 'allure-results-conformance');
    const staging = mergeAllureResults([allureResultsDir], staged, { keep: isConformanceResult });
    if (staging.dropped) log(`${staging.dropped} non-conformance Allure result(s) left out of the report`);
    writeResultsMetadata(staged, { runs, cases, interrupted });
    try {
      built.allure3 = await generateAllure3({ resultsDirs: [staged], outDir: outDir === 'reports' ? DEFAULT_REPORT_DIR : join(outDir, 'allure-report'), singleFile: opts.singleFile ?? false });
      log(`Allure report: ${built.allure3.index}${opts.singleFile ? ' (single file)' : ''}`);
    } catch (err) {
      errors.push(err as Error);
      log(`Allure 3 report failed: ${(err as Error).message}`);
    }
    if (opts.allure2) {
      try {
        built.allure2 = await generateAllure2({ resultsDirs: [staged], outDir: join(outDir, 'allure2-report'), singleFile: opts.singleFile ?? false });
        log(`Allure 2 report: ${built.allure2.index}`);
      } catch (err) {
        errors.push(err as Error);
        log(`Allure 2 report failed: ${(err as Error).message}`);
      }
    }
  } else if (!opts.noAllure) {
    log(`no Allure results in ${allureResultsDir}: Allure report not generated`);
  }
  for (const name of unjudged) log(`ERROR (no verdict): ${name} failed before its case reported a result`);
  const gate = certification.certification.gate ?? evaluateGate(cases, opts.gate ?? 'no-fail', { interrupted });
  // A test that died without a verdict (and left no plan to say so) is an ERROR the case results cannot show.
  if (unjudged.length && gate.gate !== 'none' && gate.passed) {
    gate.passed = false;
    gate.reason = `${unjudged.length} test(s) ended without a verdict`;
  }
  const junitPath = opts.junitFile === false ? undefined : writeConformanceJunit(opts.junitFile ?? join(outDir, 'junit.xml'), cases, gate);
  return { cases, interrupted, notRun: completed.notRun, stoppedMidway: completed.stoppedMidway, ...(junitPath ? { junitPath } : {}), summary, certification, gate, unjudged, errors, ...built };
}

