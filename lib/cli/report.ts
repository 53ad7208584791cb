// `mbms-conform report`: (re)generates the Allure report and the certification summary from recorded
// results, merging the results of sharded runs first when asked.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReports, mergeShards, parseGate, DEFAULT_ALLURE_RESULTS_DIR, DEFAULT_RESULTS_DIR } from '../report/index.ts';

const USAGE = `usage: mbms-conform report [options]

  --results DIR         CaseResult files (default reports/results, or <out>/results with --out)
  --allure-results DIR  Allure results (default reports/allure-results, or <out>/allure-results with --out)
  --out DIR             output directory: allure-report/, certification.{html,json} (default reports)
  --merge DIR...        merge shard directories first (each a copy of a shard's reports/ with results/
                        and allure-results/, or a bare results directory) into --results/--allure-results
  --blob DIR            also merge Playwright's blob reports of the shards (into <results>/playwright-junit.xml)
  --single-file         the Allure report as one HTML file (for mailing)
  --allure2             also generate the Allure 2 report (allure-commandline, needs Java)
  --gate G              exit non-zero when: no-fail (default), mandatory-pass, all-pass, none
  -h, --help            this help
`;

function mergeBlobReports(blobDir: string, junitFile: string): Promise<number> {
  const cli = createRequire(import.meta.url).resolve('@playwright/test/cli');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'merge-reports', '--reporter=junit', blobDir], {
      stdio: 'inherit', env: { ...process.env, PLAYWRIGHT_JUNIT_OUTPUT_NAME: junitFile },
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export async function reportCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        results: { type: 'string' }, 'allure-results': { type: 'string' }, out: { type: 'string' },
        merge: { type: 'string', multiple: true }, blob: { type: 'string' },
        'single-file': { type: 'boolean' }, allure2: { type: 'boolean' }, gate: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`mbms-conform report: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let gate;
  try {
    gate = parseGate((values.gate as string | undefined) ?? 'no-fail');
  } catch (err) {
    process.stderr.write(`mbms-conform report: ${(err as Error).message}\n`);
    return 2;
  }
  // `--merge a b c`: parseArgs takes one value per flag; the other directories arrive as positionals.
  const mergeDirs = [...((values.merge as string[] | undefined) ?? []), ...(values.merge ? positionals : [])];
  if (!values.merge && positionals.length) {
    process.stderr.write(`mbms-conform report: unexpected argument '${positionals[0]}'\n${USAGE}`);
    return 2;
  }
  const outDir = (values.out as string | undefined) ?? 'reports';
  const resultsDir = (values.results as string | undefined) ?? (values.out ? join(outDir, 'results') : DEFAULT_RESULTS_DIR);
  const allureResultsDir = (values['allure-results'] as string | undefined) ?? (values.out ? join(outDir, 'allure-results') : DEFAULT_ALLURE_RESULTS_DIR);

  if (mergeDirs.length) {
    try {
      const merged = mergeShards(mergeDirs, { resultsDir, allureResultsDir });
      process.stdout.write(`merged ${merged.sources} shard directories: ${merged.cases} cases, ${merged.allureResults} Allure results`
        + `${merged.duplicates.length ? `; kept the latest run of ${merged.duplicates.length} case(s) present more than once: ${merged.duplicates.join(', ')}` : ''}\n`);
    } catch (err) {
      process.stderr.write(`mbms-conform report: ${(err as Error).message}\n`);
      return 2;
    }
  }
  if (values.blob) {
    // Playwright's merged JUnit beside the raw results; <out>/junit.xml is the verdicts' own (buildReports).
    const code = await mergeBlobReports(values.blob as string, join(resultsDir, 'playwright-junit.xml'));
    if (code !== 0) process.stderr.write(`mbms-conform report: playwright merge-reports exited with ${code}\n`);
  }
  const built = await buildReports({ resultsDir, allureResultsDir, outDir, gate, singleFile: !!values['single-file'], allure2: !!values.allure2 });
  process.stdout.write(`\n${built.summary}`);
  for (const v of built.gate.violations) process.stdout.write(`  ${v.verdict.padEnd(14)} ${v.id}  ${v.reason}\n`);
  process.stdout.write(`quality gate '${built.gate.gate}': ${built.gate.passed ? 'passed' : 'FAILED'}: ${built.gate.reason}\n`);
  if (built.interrupted) process.stdout.write('the run was interrupted: the cases that never ran are NOT-RUN\n');
  if (built.errors.length) return 1;
  return built.gate.passed ? 0 : 1;
}
