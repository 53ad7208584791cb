// Report generation from Allure results: Allure 3 (`allure` on npm, no JVM; the Awesome report,
// optionally as one self-contained HTML file for mailing) and Allure 2 (allure-commandline, Java),
// which labs already run. Also writes the results-directory metadata both read: environment.properties
// (SUT identity, suite version, profile, capability statement) and categories.json (Allure 2).
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { environmentInfo } from './allure.ts';
import { ReportGeneratorError } from './errors.ts';
import type { ReportedCase } from './run-plan.ts';
import { EPIC, LABEL, allure2Categories, allure3Categories, parentSuiteForRole } from './status.ts';
import type { RunInfo } from './types.ts';
import { packageVersion } from './version.ts';

export const DEFAULT_REPORT_DIR = 'reports/allure-report';
export const REPORT_NAME = 'mbms-conform — TS 33.246 key management conformance';

// java.util.Properties escaping (the format Allure reads environment.properties with).
function propertiesEscape(text: string, isKey: boolean): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '=' || ch === ':' || ch === '#' || ch === '!' || (isKey && ch === ' ')) out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) {
      const units = code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code];
      out += units.map((u) => `\\u${u.toString(16).padStart(4, '0')}`).join('');
    } else out += ch;
  }
  return isKey ? out : out.replace(/^ /, '\\ ');
}

export function propertiesText(entries: Record<string, string>): string {
  return Object.entries(entries).map(([k, v]) => `${propertiesEscape(k, true)}=${propertiesEscape(v, false)}`).join('\n') + '\n';
}

/**
 * Writes environment.properties and categories.json into an Allure results directory, from the
 * run info (when the SUT fixture recorded one) and the case results (SUTs, clauses of the FAIL
 * categories). Rewritten at every generation, so merged shards carry one consistent set.
 */
export function writeResultsMetadata(allureResultsDir: string, input: { runs?: readonly RunInfo[]; cases?: readonly ReportedCase[]; interrupted?: boolean }): void {
  mkdirSync(allureResultsDir, { recursive: true });
  const runs = input.runs ?? [];
  const env = environmentInfo(runs, runs.find((r) => r.suiteVersion)?.suiteVersion ?? packageVersion());
  if (input.interrupted) env['run.interrupted'] = 'true: the cases that never ran are NOT-RUN; the report certifies nothing';
  // A planned case that never ran has no Allure result of its own: it gets one (skipped, NOT-RUN), so
  // the report lists it rather than leaving it silently absent.
  for (const c of input.cases ?? []) if (c.verdict === 'NOT-RUN') writeNotRunResult(allureResultsDir, c);
  // Without run info, the SUTs as the case results name them.
  const suts = [...new Set((input.cases ?? []).map((c) => `${c.sut.name} (${parentSuiteForRole(c.sut.role)}${c.sut.embedded ? ', embedded reference' : ''})`))];
  if (suts.length && runs.length === 0) env['sut.name'] = suts.join('; ');
  if (input.cases?.length) env['cases'] = String(input.cases.length);
  writeFileSync(join(allureResultsDir, 'environment.properties'), propertiesText(env));
  const clauses = (input.cases ?? []).map((c) => c.clause);
  writeFileSync(join(allureResultsDir, 'categories.json'), `${JSON.stringify(allure2Categories(clauses), null, 2)}\n`);
}

function writeNotRunResult(dir: string, c: ReportedCase): void {
  const uuid = randomUUID();
  const result = {
    uuid, historyId: createHash('md5').update(c.id).digest('hex'), testCaseId: c.id, name: `${c.id} ${c.title}`, fullName: `${c.id} ${c.title}`,
    status: 'skipped', stage: 'finished', statusDetails: { message: `NOT-RUN [${c.clause}] ${c.note ?? ''}`.trim() },
    start: c.startedAt, stop: c.startedAt, steps: [], attachments: [], parameters: [],
    labels: [
      { name: 'epic', value: EPIC }, { name: 'parentSuite', value: parentSuiteForRole(c.role) }, { name: 'story', value: c.title },
      { name: LABEL.caseId, value: c.id }, { name: LABEL.verdict, value: 'NOT-RUN' }, { name: LABEL.clause, value: c.clause },
      { name: LABEL.procedure, value: c.procedure }, { name: LABEL.sutRole, value: c.role },
      { name: LABEL.mandatory, value: c.mandatory ? 'mandatory' : 'optional' }, { name: 'severity', value: c.severity },
    ],
  };
  writeFileSync(join(dir, `${uuid}-result.json`), `${JSON.stringify(result)}\n`);
}

interface ToolRun { code: number | null; output: string }

/** Runs a generator; output is captured and returned; the child is killed when `timeoutMs` passes. */
function runTool(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => { output += `\n[killed after ${opts.timeoutMs} ms]`; child.kill('SIGKILL'); }, opts.timeoutMs ?? 300_000);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, output }); });
  });
}

const require = createRequire(import.meta.url);

/** The Allure 3 command line (allure/cli.js), found through the package's main entry. */
export function allure3Cli(): string {
  return join(dirname(require.resolve('allure')), '..', 'cli.js');
}

/** The Allure 2 launcher of allure-commandline (a shell script that runs Java 8+). */
export function allure2Cli(): string {
  return join(dirname(require.resolve('allure-commandline')), 'dist', 'bin', 'allure');
}

export interface GenerateOptions {
  resultsDirs: string[];
  outDir?: string;
  /** One self-contained HTML file (Allure 3 Awesome `singleFile`, Allure 2 `--single-file`), for mailing. */
  singleFile?: boolean;
  reportName?: string;
  timeoutMs?: number;
}

export interface GeneratedReport { tool: 'allure3' | 'allure2'; outDir: string; index: string; output: string }

/**
 * Allure 3 Awesome report: categories grouped by clause (FAIL by clause, INCONC, ERROR) and the
 * tree grouped by SUT role > feature (procedure and clause) > story, from an allurerc written for
 * the call (the project keeps no allurerc at the top level).
 */
export async function generateAllure3(opts: GenerateOptions): Promise<GeneratedReport> {
  const outDir = resolve(opts.outDir ?? DEFAULT_REPORT_DIR);
  const configDir = mkdtempSync(join(tmpdir(), 'mbms-conform-allurerc-'));
  try {
    const configPath = join(configDir, 'allurerc.json');
    writeFileSync(configPath, JSON.stringify({
      name: opts.reportName ?? REPORT_NAME,
      output: outDir,
      plugins: {
        awesome: { options: { reportName: opts.reportName ?? REPORT_NAME, singleFile: opts.singleFile ?? false, groupBy: ['parentSuite', 'feature'], reportLanguage: 'en' } },
      },
      categories: allure3Categories(),
    }, null, 2));
    rmSync(outDir, { recursive: true, force: true });
    const run = await runTool(process.execPath, [allure3Cli(), 'generate', ...opts.resultsDirs.map((d) => resolve(d)), '--config', configPath, '--output', outDir], { timeoutMs: opts.timeoutMs });
    const index = join(outDir, 'index.html');
    if (run.code !== 0 || !existsSync(index)) throw new ReportGeneratorError('allure (Allure 3)', run.code, run.output);
    withoutAnalytics(outDir);
    return { tool: 'allure3', outDir, index, output: run.output };
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
}

/**
 * Removes the web-analytics snippet Allure writes into its pages (a script from www.googletagmanager.com
 * and its configuration, which Allure 3's report plugin writes unconditionally). A conformance report is
 * opened in labs without Internet access and mailed to customers: it loads nothing from outside and tells
 * nobody that it was opened.
 */
export function withoutAnalytics(outDir: string): void {
  for (const name of readdirSync(outDir)) {
    if (!name.endsWith('.html')) continue;
    const path = join(outDir, name);
    const html = readFileSync(path, 'utf8');
    const cleaned = html
      .replace(/<script async src="https:\/\/www\.googletagmanager\.com\/[^"]*"><\/script>\s*<script>[\s\S]*?gtag\('config'[\s\S]*?<\/script>/g, '')
      .replace(/<script[^>]*src="https:\/\/www\.googletagmanager\.com\/[^"]*"[^>]*><\/script>/g, '');
    if (cleaned !== html) writeFileSync(path, cleaned);
  }
}

/** Allure 2 report through allure-commandline (needs Java on PATH or JAVA_HOME). */
export async function generateAllure2(opts: GenerateOptions): Promise<GeneratedReport> {
  const outDir = resolve(opts.outDir ?? 'reports/allure2-report');
  const args = [allure2Cli(), 'generate', ...opts.resultsDirs.map((d) => resolve(d)), '-o', outDir, '--clean'];
  if (opts.singleFile) args.push('--single-file');
  if (opts.reportName) args.push('--name', opts.reportName);
  // Allure 2 leaves its analytics out when asked (the report opens offline and tells nobody).
  const run = await runTool('sh', args, { timeoutMs: opts.timeoutMs, env: { ...process.env, ALLURE_NO_ANALYTICS: 'true' } });
  const index = join(outDir, 'index.html');
  if (run.code !== 0 || !existsSync(index)) throw new ReportGeneratorError('allure-commandline (Allure 2)', run.code, run.output);
  withoutAnalytics(outDir);
  return { tool: 'allure2', outDir, index, output: run.output };
}
