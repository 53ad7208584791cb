// Allure labels, steps and attachments of one conformance case, sent through allure-playwright's
// runtime (allure-js-commons) from inside the Playwright test, plus the reporter options that
// make Allure statuses say the verdict (lib/suite status-map: `allureIntended`).
import { existsSync, readFileSync } from 'node:fs';
import type { TestInfo } from '@playwright/test';
import * as allure from 'allure-js-commons';
import { ladderSvg } from './ladder.ts';
import { digestWorksheet, failingEventIds, failureDocuments, failuresText, hasDigest, mikeyDocuments, mikeyDocumentsText } from './evidence.ts';
import { findingTitle, mapVerdict, type AllureStatus, type Role } from '../suite/index.ts';
import { allure2Categories, EPIC, LABEL, parentSuiteForRole, verdictMessage, verdictReason } from './status.ts';
import type { CaseResult, RunInfo, Verdict } from './types.ts';
import { VERDICTS } from './types.ts';
import { DEFAULT_ALLURE_RESULTS_DIR, defaultResultsDir, writeCaseResult, writeRunInfo } from './results.ts';
import { packageVersion } from './version.ts';

/** The Allure status that says a verdict (lib/suite status-map, the one table). */
const allureStatus = (verdict: Verdict): AllureStatus => mapVerdict(verdict).allureIntended;

export const PCAP_CONTENT_TYPE = 'application/vnd.tcpdump.pcap';
/** allure-playwright turns test attachments of this content type into runtime messages (allure-js-commons sdk). */
const ALLURE_RUNTIME_MESSAGE = 'application/vnd.allure.message+json';

/** The TS 33.246 specification page (3GPP); clause numbers are given in the link name. */
export const SPEC_URL = 'https://www.3gpp.org/DynaReport/33246.htm';

export function referenceUrl(reference: string): string | undefined {
  const rfc = /\bRFC\s*(\d{3,5})\b/i.exec(reference);
  if (rfc) {
    const section = /§\s*([\d.]+\d)/.exec(reference);
    return `https://www.rfc-editor.org/rfc/rfc${rfc[1]}${section ? `#section-${section[1]}` : ''}`;
  }
  if (/33\.246/.test(reference)) return SPEC_URL;
  return undefined;
}

export interface ReportCaseOptions {
  /** Profile name shown as a parameter (e.g. 'reference' or the SUT profile file). */
  profileName?: string;
  /** The profile lets secrets into reports (digest worksheet HA1, decrypted keys). */
  allowSecrets?: boolean;
  /** Worksheets from lib/digest computeResponse/computeRspauth, when the engine has them. */
  digestWorksheets?: unknown[];
  /** Who was tested (see `runInfoFromSut`): written once per SUT role beside the results, for the certification. */
  run?: RunInfo;
  /**
   * Where the CaseResult JSON (and its pcap) is written for the certification summary and shard
   * merges: default $MBMS_RESULTS_DIR or reports/results; `false` to not write it.
   */
  resultsDir?: string | false;
}

type RuntimeMessage =
  | { type: 'step_start'; data: { name: string; start: number } }
  | { type: 'step_stop'; data: { stop: number; status: AllureStatus; statusDetails?: { message?: string; expected?: string; actual?: string } } }
  | { type: 'attachment_content'; data: { name: string; content: string; encoding: 'base64'; contentType: string; fileExtension?: string } };

/**
 * Sends one runtime message the way allure-js-commons does under Playwright: as a test attachment
 * of the runtime content type, which allure-playwright applies to the result in order. Used for
 * steps with their real protocol timestamps and for attachments with a file extension.
 */
async function send(testInfo: TestInfo, message: RuntimeMessage): Promise<void> {
  await testInfo.attach('allure-runtime-message', { contentType: ALLURE_RUNTIME_MESSAGE, body: Buffer.from(JSON.stringify(message), 'utf8') });
}

async function attach(testInfo: TestInfo, name: string, content: Buffer | string, contentType: string, fileExtension: string): Promise<void> {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  await send(testInfo, { type: 'attachment_content', data: { name, content: body.toString('base64'), encoding: 'base64', contentType, fileExtension } });
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function featureOf(result: CaseResult): string {
  return `${result.procedure} (${result.clause})`;
}

/** The labels of a case, in one place so that the certification and merge code read the same names. */
export function caseLabels(result: CaseResult): { name: string; value: string }[] {
  return [
    { name: 'epic', value: EPIC },
    { name: 'feature', value: featureOf(result) },
    { name: 'story', value: result.title },
    { name: 'parentSuite', value: parentSuiteForRole(result.role) },
    { name: 'suite', value: featureOf(result) },
    { name: 'severity', value: result.severity },
    { name: LABEL.caseId, value: result.id },
    { name: 'ALLURE_ID', value: result.id },
    { name: LABEL.verdict, value: result.verdict },
    { name: LABEL.clause, value: result.clause },
    { name: LABEL.procedure, value: result.procedure },
    { name: LABEL.sutRole, value: result.role },
    { name: LABEL.mandatory, value: result.mandatory ? 'mandatory' : 'optional' },
    ...result.tags.map((t) => ({ name: 'tag', value: t })),
  ];
}

function description(result: CaseResult): string {
  const reason = verdictReason(result);
  return [
    `**Requirement** (TS 33.246 clause ${result.clause}): ${result.requirement}`,
    '',
    `**Verdict:** ${result.verdict}${reason ? ` — ${reason}` : ''}`,
    '',
    `**Case id:** \`${result.id}\` · ${result.mandatory ? 'mandatory' : 'optional'} · SUT ${result.sut.name} (${parentSuiteForRole(result.role)}${result.sut.embedded ? ', embedded reference' : ''})`,
    ...(result.sut.faults?.length ? ['', `**Injected faults:** ${result.sut.faults.join(', ')}`] : []),
    ...(result.references.length ? ['', `**References:** ${result.references.join('; ')}`] : []),
  ].join('\n');
}

/**
 * Reports one finished case: writes its CaseResult file (`writeCaseResult`, see `resultsDir`) and
 * sends its Allure labels, links, parameters, timed steps and attachments. Call it from the
 * Playwright test that ran the case, after the case and before the test ends (before
 * `testInfo.skip` for NOT-APPLICABLE, before throwing for FAIL / INCONC / ERROR).
 */
export async function reportCase(result: CaseResult, testInfo: TestInfo, opts: ReportCaseOptions = {}): Promise<void> {
  // The file first: whatever happens to the Allure messages, the certification sees the case.
  if (opts.resultsDir !== false) {
    writeCaseResult(result, opts.resultsDir ?? defaultResultsDir());
    if (opts.run) writeRunInfo(opts.run, opts.resultsDir ?? defaultResultsDir());
  }
  const allowSecrets = opts.allowSecrets ?? opts.run?.allowSecrets ?? false;
  await allure.labels(...caseLabels(result));
  await allure.testCaseId(result.id);
  await allure.link(SPEC_URL, `TS 33.246 clause ${result.clause}`, 'tms');
  for (const ref of result.references) {
    const url = referenceUrl(ref);
    if (url && url !== SPEC_URL) await allure.link(url, ref);
  }
  await allure.parameter('SUT', result.sut.name);
  await allure.parameter('SUT role', result.role);
  await allure.parameter('profile', opts.profileName ?? opts.run?.profileName ?? 'default');
  if (result.sut.faults?.length) await allure.parameter('injected faults', result.sut.faults.join(', '));
  await allure.description(description(result));

  // One Allure step per protocol step, with the step's own timing and verdict; each finding is a
  // sub-step so that the report shows which check passed or failed inside the step.
  for (const step of result.steps) {
    const start = Math.round(step.startedAt);
    const stop = Math.round(step.startedAt + step.durationMs);
    await send(testInfo, { type: 'step_start', data: { name: `${step.index}. ${step.title}`, start } });
    for (const f of step.findings) {
      await send(testInfo, { type: 'step_start', data: { name: `[${f.verdict}] ${f.check}: ${f.message}`, start: stop } });
      await send(testInfo, { type: 'step_stop', data: { stop, status: allureStatus(f.verdict), ...(f.verdict !== 'PASS' ? { statusDetails: findingDetails(f) } : {}) } });
    }
    const bad = step.findings.filter((f) => f.verdict !== 'PASS' && f.verdict !== 'NOT-APPLICABLE');
    if (bad.length) await attach(testInfo, `step ${step.index}: expected vs actual`, json(failureDocuments({ ...result, findings: bad, steps: [] }, { allowSecrets })), 'application/json', 'json');
    const first = bad[0];
    await send(testInfo, { type: 'step_stop', data: { stop, status: allureStatus(step.verdict), ...(first ? { statusDetails: findingDetails(first) } : {}) } });
  }

  if (result.pcapPath && existsSync(result.pcapPath)) {
    await attach(testInfo, 'capture.pcap', readFileSync(result.pcapPath), PCAP_CONTENT_TYPE, 'pcap');
  }
  await attach(testInfo, 'ladder diagram', ladderSvg(result.trace, {
    roles: { sut: result.role, sutName: result.sut.name }, failingEvents: failingEventIds(result), steps: result.steps, title: `${result.id} ${result.title}`,
  }), 'image/svg+xml', 'svg');
  const mikey = mikeyDocuments(result, { allowSecrets });
  if (mikey.length) {
    await attach(testInfo, 'MIKEY messages', mikeyDocumentsText(mikey), 'text/plain', 'txt');
    await attach(testInfo, 'MIKEY messages (JSON)', json(mikey), 'application/json', 'json');
  }
  const worksheet = digestWorksheet(result, opts.digestWorksheets, { allowSecrets });
  if (hasDigest(worksheet)) await attach(testInfo, 'HTTP Digest worksheet', json(worksheet), 'application/json', 'json');
  const failures = failureDocuments(result, { allowSecrets });
  if (failures.length) {
    await attach(testInfo, 'expected vs actual', failuresText(failures), 'text/plain', 'txt');
  }
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function findingDetails(f: { check: string; message: string; blame?: Role; expected?: unknown; actual?: unknown }): { message: string; expected?: string; actual?: string } {
  return {
    message: findingTitle(f),
    ...(f.expected !== undefined ? { expected: stringify(f.expected) } : {}),
    ...(f.actual !== undefined ? { actual: stringify(f.actual) } : {}),
  };
}

// ---- reporter side ----------------------------------------------------------------------------------

interface AllureResultLike {
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  labels: { name: string; value: string }[];
}

/**
 * Rewrites the status of a result from its verdict label, just before allure-playwright writes it:
 * Playwright has no INCONC and no ERROR distinct from FAIL, Allure has (unknown, broken). The
 * status message is led by `<VERDICT> [<clause>]` for the Allure 2 categories. Results without a
 * verdict label (a test that died before `reportCase`) keep allure-playwright's status.
 */
export function applyVerdictStatus(result: AllureResultLike): void {
  const verdict = result.labels.find((l) => l.name === LABEL.verdict)?.value as Verdict | undefined;
  if (!verdict || !VERDICTS.includes(verdict)) return;
  // A Playwright timeout or crash after the verdict was reported: the harness broke, never better.
  const harnessBroke = result.status === 'broken' && verdict === 'PASS';
  const status: AllureStatus = harnessBroke ? 'broken' : allureStatus(verdict);
  result.status = status;
  if (status === 'passed') return;
  const clause = result.labels.find((l) => l.name === LABEL.clause)?.value ?? '?';
  // The thrown error's class name ("Error: ", "ConformanceFailure: ") adds nothing to the verdict.
  const existing = (result.statusDetails?.message ?? '').replace(/^[A-Za-z]*(?:Error|Failure): /, '');
  const prefix = verdictMessage(harnessBroke ? 'ERROR' : verdict, clause, '');
  result.statusDetails = { ...result.statusDetails, message: existing.startsWith(prefix) ? existing : `${prefix} ${existing}`.trim() };
}

export interface AllureReporterSetup {
  resultsDir?: string;
  run?: RunInfo;
  /** Clauses for the Allure 2 FAIL-by-clause categories (the generator rewrites them from the results anyway). */
  clauses?: string[];
}

/** Flattens nested objects to dotted keys ("capabilities.streaming"), values as text. */
export function flattenForDisplay(value: unknown, prefix = '', into: Record<string, string> = {}): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) flattenForDisplay(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (prefix) {
    into[prefix] = typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
  }
  return into;
}

/**
 * environment.properties content: suite version, and per SUT its identity, profile name and
 * capability statement (keys prefixed with the role when the run had two SUTs).
 */
export function environmentInfo(runs: RunInfo | readonly RunInfo[] | undefined, suiteVersion?: string): Record<string, string> {
  const list = runs === undefined ? [] : Array.isArray(runs) ? runs as readonly RunInfo[] : [runs as RunInfo];
  const env: Record<string, string> = {};
  const version = suiteVersion ?? list.find((r) => r.suiteVersion)?.suiteVersion;
  if (version) env['suite.version'] = version;
  for (const run of list) {
    const p = list.length > 1 ? `${run.sut.role ?? 'sut'}.` : '';
    env[`${p}sut.name`] = run.sut.name;
    if (run.sut.role) env[`${p}sut.role`] = parentSuiteForRole(run.sut.role);
    if (run.sut.embedded !== undefined) env[`${p}sut.embedded`] = String(run.sut.embedded);
    for (const k of ['vendor', 'model', 'version', 'address'] as const) if (run.sut[k]) env[`${p}sut.${k}`] = run.sut[k]!;
    if (run.profileName) env[`${p}profile`] = run.profileName;
    for (const [k, v] of Object.entries(flattenForDisplay(run.capabilities ?? {}))) env[`${p}capability.${k}`] = v;
  }
  env['node'] = process.version;
  return env;
}

/**
 * Options for `['allure-playwright', allureReporterOptions()]` in playwright.config.ts:
 * results directory, environment.properties, categories.json (Allure 2) and the verdict status
 * fix-up (a lifecycle listener, so it runs in the reporter process before each result is written).
 */
export function allureReporterOptions(setup: AllureReporterSetup = {}): {
  resultsDir: string; detail: boolean; suiteTitle: boolean;
  environmentInfo: Record<string, string>;
  categories: ReturnType<typeof allure2Categories>;
  listeners: { beforeTestResultWrite: (result: AllureResultLike) => void }[];
  links: Record<string, { urlTemplate: string; nameTemplate: string }>;
} {
  return {
    resultsDir: setup.resultsDir ?? process.env.ALLURE_RESULTS_DIR ?? DEFAULT_ALLURE_RESULTS_DIR,
    // Playwright's own fixture and expect steps would bury the protocol steps; the report shows ours.
    detail: false,
    suiteTitle: false,
    environmentInfo: environmentInfo(setup.run, packageVersion()),
    categories: allure2Categories(setup.clauses ?? []),
    listeners: [{ beforeTestResultWrite: applyVerdictStatus }],
    links: { tms: { urlTemplate: '%s', nameTemplate: '%s' } },
  };
}
