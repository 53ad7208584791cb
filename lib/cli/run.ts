// `mbms-conform run` (`npm start`): runs the conformance suites with Playwright (default: both roles
// against the embedded reference BM-SC and reference UE), shows one line per case, then prints the
// summary per clause, generates the Allure report and the certification summary, and exits non-zero
// when the quality gate fails (default: any FAIL or ERROR). Ctrl-C stops the run and still reports
// what was recorded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReports, parseGate, DEFAULT_ALLURE_RESULTS_DIR, DEFAULT_RESULTS_DIR, type QualityGate } from '../report/index.ts';
import { progressLine } from '../report/progress-reporter.ts';

const USAGE = `usage: mbms-conform run [options] [-- playwright options]

  --role bmsc|ue|both   which SUT role to test (default both: BM-SC under test and UE under test)
  --sut FILE            SUT profile (addresses, credentials, capabilities); default: the embedded references
  --grep RE             only the cases whose title matches RE (e.g. '6\\.3\\.1')
  --shard I/N           run shard I of N (one CI machine per shard; merge with 'mbms-conform report --merge')
  --workers N           parallel workers
  --capture KIND        pcap of each case: tap (default, no privileges: the tester's own sockets), tcpdump
                        (the wire on loopback; root and tcpdump) or raw (raw sockets; root); sets MBMS_CAPTURE
  --gate G              exit non-zero unless: no-fail (default: no FAIL, ERROR, INCONC or NOT-RUN and at
                        least one PASS), mandatory-pass (also every mandatory case PASS), all-pass, none
  --single-file         the Allure report as one HTML file (for mailing)
  --allure2             also generate the Allure 2 report (allure-commandline, needs Java)
  --out DIR             where results and reports go (default reports)
  --no-report           no Allure HTML report (certification, JUnit and the gate are still written)
  --list                use Playwright's list reporter instead of one line per case
  -h, --help            this help
`;

export interface RunArgs {
  roles: ('bmsc' | 'ue')[]; sut?: string; capture?: 'tap' | 'tcpdump' | 'raw'; out: string; grep?: string; shard?: string; workers?: string; gate: QualityGate;
  singleFile: boolean; allure2: boolean; report: boolean; list: boolean; extra: string[];
}

/** Parses the command line; throws a usage message (string) on bad input. */
export function parseRunArgs(argv: string[]): RunArgs | 'help' {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values } = parseArgs({
    args: own, allowPositionals: false, strict: true,
    options: {
      role: { type: 'string' }, sut: { type: 'string' }, grep: { type: 'string' }, shard: { type: 'string' }, workers: { type: 'string' }, capture: { type: 'string' },
      gate: { type: 'string' }, 'single-file': { type: 'boolean' }, allure2: { type: 'boolean' }, 'no-report': { type: 'boolean' },
      list: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const role = values.role ?? 'both';
  if (!['bmsc', 'ue', 'both'].includes(role)) throw new Error(`--role must be bmsc, ue or both (got '${role}')`);
  if (values.shard !== undefined && !/^\d+\/\d+$/.test(values.shard)) throw new Error(`--shard must be I/N (got '${values.shard}')`);
  if (values.capture !== undefined && !['tap', 'tcpdump', 'raw'].includes(values.capture)) throw new Error(`--capture must be tap, tcpdump or raw (got '${values.capture}')`);
  if (values.workers !== undefined && !/^\d+%?$/.test(values.workers)) throw new Error(`--workers must be a number or a percentage (got '${values.workers}')`);
  return {
    roles: role === 'both' ? ['bmsc', 'ue'] : [role as 'bmsc' | 'ue'],
    out: values.out ?? 'reports',
    ...(values.sut !== undefined ? { sut: values.sut } : {}),
    ...(values.grep !== undefined ? { grep: values.grep } : {}),
    ...(values.shard !== undefined ? { shard: values.shard } : {}),
    ...(values.workers !== undefined ? { workers: values.workers } : {}),
    ...(values.capture !== undefined ? { capture: values.capture as 'tap' | 'tcpdump' | 'raw' } : {}),
    gate: parseGate(values.gate ?? 'no-fail'),
    singleFile: values['single-file'] ?? false, allure2: values.allure2 ?? false, report: !values['no-report'], list: values.list ?? false, extra,
  };
}

/**
 * The project's Playwright configuration, beside this code: playwright.config.ts at the root of a checkout
 * run from its sources, dist/playwright.config.js in the build (and in an installed package, where the
 * working folder is the user's and holds no configuration of ours).
 */
export const PLAYWRIGHT_CONFIG = fileURLToPath(new URL(`../../playwright.config${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** The Playwright command line of a run (node + @playwright/test cli.js + arguments). */
export function playwrightArgs(args: RunArgs): string[] {
  const cli = createRequire(import.meta.url).resolve('@playwright/test/cli');
  return [
    cli, 'test',
    // MBMS_PLAYWRIGHT_CONFIG: another configuration with the same bmsc/ue projects (the report's own e2e tests)
    '-c', process.env.MBMS_PLAYWRIGHT_CONFIG || PLAYWRIGHT_CONFIG,
    // both roles: the one project that runs them in one pool of workers (playwright.config.ts)
    ...(args.roles.length === 2 ? ['--project=conformance'] : args.roles.map((r) => `--project=${r}`)),
    ...(args.grep ? ['--grep', args.grep] : []),
    ...(args.shard ? [`--shard=${args.shard}`] : []),
    ...(args.workers ? [`--workers=${args.workers}`] : []),
    ...args.extra,
  ];
}

/**
 * Runs Playwright as a child in its own process group, so that a terminal Ctrl-C reaches it once,
 * through us: SIGINT/SIGTERM are forwarded, Playwright stops the running cases and its reporters
 * write what they have; a second Ctrl-C kills it. Resolves with its exit code (130 when interrupted).
 */
/** How long Playwright gets to stop its cases and write its reports after an interrupt. */
const STOP_GRACE_MS = Number(process.env.MBMS_STOP_GRACE_MS) || 30_000;

function runPlaywright(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: 'inherit', env, detached: true });
    let interrupted = false;
    let watchdog: NodeJS.Timeout | undefined;
    const forward = (signal: NodeJS.Signals) => () => {
      if (interrupted) {
        process.stderr.write('\nmbms-conform: second interrupt, stopping Playwright now\n');
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
        return;
      }
      interrupted = true;
      process.stderr.write(`\nmbms-conform: ${signal}, stopping the run; the report will cover what was recorded\n`);
      if (child.pid) process.kill(-child.pid, signal);
      // Playwright can miss an interrupt that lands while a worker is taking its next case (seen with
      // Playwright 1.5x: the run then waits for that case's own timeout, forever when it has none).
      // The plan reporter has written every outcome so far and the case that was running, so
      // stopping Playwright here loses nothing the report needs.
      watchdog = setTimeout(() => {
        process.stderr.write(`mbms-conform: Playwright did not stop within ${STOP_GRACE_MS / 1000} s of the interrupt; stopping it now\n`);
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      }, STOP_GRACE_MS);
      watchdog.unref();
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve({ code: code ?? (signal ? 128 + 2 : 1), interrupted: interrupted || signal === 'SIGINT' });
    });
  });
}

export async function runCommand(argv: string[]): Promise<number> {
  let args: RunArgs | 'help';
  try {
    args = parseRunArgs(argv);
  } catch (err) {
    process.stderr.write(`mbms-conform run: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  // A bad SUT profile stops the run before the first case, with the file, line and field (exit 2);
  // left to the workers it would turn every case into an ERROR without a verdict.
  if (args.sut) {
    try {
      const { loadSutProfile } = await import('../suite/index.ts');
      const identities = loadSutProfile(args.sut).identityCount ?? 1;
      // One identity serves one worker at a time: two workers on one identity disturb each other's
      // cases (its counters, nonces and MSKs are shared by the SUT). Default: a worker per identity.
      if (args.workers === undefined) args = { ...args, workers: String(identities) };
      else if (/^\d+$/.test(args.workers) && Number(args.workers) > identities) {
        process.stderr.write(`mbms-conform run: warning: ${args.workers} workers but the SUT profile provisions ${identities} identit${identities === 1 ? 'y' : 'ies'}; workers share identities and may disturb each other's cases\n`);
      }
    } catch (err) {
      process.stderr.write(`mbms-conform run: ${(err as Error).message.split('\n')[0]}\n`);
      return 2;
    }
  }
  const defaults = args.out === 'reports';
  const resultsDir = process.env.MBMS_RESULTS_DIR ?? (defaults ? DEFAULT_RESULTS_DIR : join(args.out, 'results'));
  const allureResultsDir = process.env.ALLURE_RESULTS_DIR ?? (defaults ? DEFAULT_ALLURE_RESULTS_DIR : join(args.out, 'allure-results'));
  // A fresh run: results of an earlier run would otherwise show up as cases of this one.
  rmSync(resultsDir, { recursive: true, force: true });
  rmSync(allureResultsDir, { recursive: true, force: true });
  let pw: { code: number; interrupted: boolean };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Absolute: Playwright resolves reporter paths against the configuration's folder.
    MBMS_RESULTS_DIR: resolve(resultsDir),
    ALLURE_RESULTS_DIR: resolve(allureResultsDir),
    // Playwright's own JUnit (passed/failed/skipped only) stays with the raw results; <out>/junit.xml is
    // written from the verdicts and the run plan by buildReports (lib/report/junit.ts).
    MBMS_JUNIT_FILE: resolve(resultsDir, 'playwright-junit.xml'),
    // Playwright's own output (attachments of failed tests) under --out, not beside the configuration
    MBMS_TEST_OUTPUT_DIR: resolve(args.out, 'test-results'),
    ...(args.list ? {} : { MBMS_REPORTER: 'progress' }),
    ...(args.sut ? { MBMS_SUT: args.sut } : {}),
    // the project of both roles (playwright.config.ts), selected by playwrightArgs
    ...(args.roles.length === 2 ? { MBMS_BOTH_ROLES: '1' } : {}),
    // read by lib/suite runCase in every worker (docs/capture.md)
    ...(args.capture ? { MBMS_CAPTURE: args.capture } : {}),
  };
  // The suites, loaded and checked once here: a malformed suite stops the run before anything runs
  // (exit 2, file, line and field), and the Playwright processes read the checked cases (CASES_FILE_ENV).
  const casesDir = mkdtempSync(join(tmpdir(), 'mbms-cases-'));
  try {
    const { writeCasesFile, CASES_FILE_ENV } = await import('../suite/index.ts');
    const casesFile = join(casesDir, 'cases.json');
    try {
      writeCasesFile(casesFile);
    } catch (err) {
      process.stderr.write(`mbms-conform run: ${(err as Error).message.split('\n')[0]}\n`);
      return 2;
    }
    env[CASES_FILE_ENV] = casesFile;
    pw = await runPlaywright(playwrightArgs(args), env);
  } finally {
    rmSync(casesDir, { recursive: true, force: true });
  }

  // --no-report leaves out the Allure HTML only: the verdicts, certification, JUnit and gate are always written.
  const built = await buildReports({
    resultsDir, allureResultsDir, outDir: args.out, gate: args.gate, singleFile: args.singleFile, allure2: args.allure2,
    noAllure: !args.report, interrupted: pw.interrupted, junitFile: resolve(process.env.MBMS_JUNIT_FILE ?? join(args.out, 'junit.xml')),
  });
  // A case Playwright never ended (the interrupt stopped it, or the watchdog stopped Playwright) got no
  // progress line: the terminal says what the certification says, as the next lines of the progress.
  if (built.stoppedMidway.length) {
    const total = built.cases.length;
    let done = total - built.notRun.length - built.stoppedMidway.length;
    for (const id of built.stoppedMidway) {
      const c = built.cases.find((x) => x.id === id);
      process.stdout.write(`${progressLine(++done, total, 'ERROR', c ? `${id} ${c.title}` : id, 'stopped by the interrupt before its verdict')}\n`);
    }
  }
  process.stdout.write(`\n${built.summary}`);
  if (built.cases.length === 0) process.stdout.write('no case result was recorded\n');
  const shown = built.gate.violations.filter((v) => v.verdict !== 'NOT-RUN');
  for (const v of shown.slice(0, 50)) process.stdout.write(`  ${v.verdict.padEnd(14)} ${v.id}  ${v.reason}\n`);
  if (shown.length > 50) process.stdout.write(`  ... ${shown.length - 50} more (certification.html lists them all)\n`);
  if (built.notRun.length) process.stdout.write(`  ${built.notRun.length} case${built.notRun.length === 1 ? '' : 's'} NOT-RUN\n`);
  process.stdout.write(`quality gate '${built.gate.gate}': ${built.gate.passed ? 'passed' : 'FAILED'}: ${built.gate.reason}\n`);
  if (built.interrupted) {
    process.stdout.write('the run was interrupted: every artefact says so, and the cases that never ran are NOT-RUN\n');
    return 130;
  }
  if (!built.gate.passed) return 1;
  return built.errors.length ? 1 : 0;
}
