// The certification summary a test lab hands out: who was tested (SUT identity), against what
// (capability statement, profile values), every case with its clause and verdict, and the SHA-256
// of each case's pcap and of the summary itself, so that the customer can check that the evidence
// they receive is the evidence the verdicts were computed from. Built from the CaseResult files
// only (reports/results), hence identical for a single run and for merged shards.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { el, render, type Child } from './markup.ts';
import { toReportJson } from './redact.ts';
import { compareClauses, parentSuiteForRole } from './status.ts';
import { clauseSummary, verdictTotals, type ClauseRow } from './summary.ts';
import { evaluateGate, type GateResult, type QualityGate } from './gate.ts';
import { packageVersion } from './version.ts';
import { reportedReason, type ReportVerdict, type ReportedCase } from './run-plan.ts';
import type { RunInfo, SutRole } from './types.ts';

const headlineBlame = (c: Pick<ReportedCase, 'verdict' | 'findings'>): SutRole | undefined =>
  c.verdict === 'PASS' ? undefined : c.findings.find((f) => f.verdict === c.verdict)?.blame;

export const CERTIFICATION_FORMAT = 'mbms-conform-certification/1';

export interface CertificationCase {
  id: string; role: SutRole; clause: string; procedure: string; title: string; requirement: string;
  mandatory: boolean; severity: string; verdict: ReportVerdict; reason: string;
  /** The side whose behaviour the headline finding judges (rules.ts), when it judges a device. */
  blame?: SutRole;
  sut: string; faults?: string[];
  startedAt: string; durationMs: number;
  pcap?: { file: string; bytes: number; sha256: string };
}

export interface Certification {
  format: typeof CERTIFICATION_FORMAT;
  tool: { name: 'mbms-conform'; version: string };
  specification: string;
  generatedAt: string;
  /** Who was tested, per SUT (from the run info files): identity, profile (secrets redacted), capability statement. */
  runs: CertifiedRun[];
  /** Shorthands when the run had one SUT: runs[0].sut, .profile, .capabilities. */
  sut?: RunInfo['sut'];
  profileName?: string;
  profile?: unknown;
  capabilities?: unknown;
  /** Every SUT that appears in the case results (a run of both roles has two). */
  suts: { name: string; role: SutRole; embedded: boolean }[];
  /** The run did not end normally (Ctrl-C, a killed runner): the cases that never ran are NOT-RUN. */
  interrupted: boolean;
  totals: Record<ReportVerdict, number>;
  clauses: ClauseRow[];
  gate?: GateResult;
  cases: CertificationCase[];
}

export interface CertifiedRun { sut: RunInfo['sut']; profileName?: string; profile?: unknown; capabilities?: unknown }

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface BuildCertificationOptions { gate?: QualityGate; generatedAt?: Date; interrupted?: boolean }

export function buildCertification(cases: readonly ReportedCase[], runInfo?: RunInfo | readonly RunInfo[], opts: BuildCertificationOptions = {}): Certification {
  const runInfos = runInfo === undefined ? [] : Array.isArray(runInfo) ? runInfo as readonly RunInfo[] : [runInfo as RunInfo];
  const runs: CertifiedRun[] = runInfos.map((r) => ({
    sut: r.sut,
    ...(r.profileName ? { profileName: r.profileName } : {}),
    ...(r.profile ? { profile: toReportJson(r.profile, { allowSecrets: r.allowSecrets ?? false }) } : {}),
    ...(r.capabilities ? { capabilities: toReportJson(r.capabilities, { allowSecrets: r.allowSecrets ?? false }) } : {}),
  }));
  const single = runs.length === 1 ? runs[0] : undefined;
  const sorted = [...cases].sort((a, b) => (a.role !== b.role ? (a.role < b.role ? -1 : 1) : compareClauses(a.clause, b.clause) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  const suts = new Map<string, { name: string; role: SutRole; embedded: boolean }>();
  for (const c of sorted) if (c.sut.name) suts.set(`${c.sut.role}/${c.sut.name}`, { name: c.sut.name, role: c.sut.role, embedded: c.sut.embedded });
  return {
    format: CERTIFICATION_FORMAT,
    tool: { name: 'mbms-conform', version: runInfos.find((r) => r.suiteVersion)?.suiteVersion ?? packageVersion() ?? 'unknown' },
    specification: '3GPP TS 33.246 clause 6.3 (MBMS key management)',
    generatedAt: (opts.generatedAt ?? new Date()).toISOString(),
    runs,
    ...(single ? single : {}),
    suts: [...suts.values()],
    interrupted: opts.interrupted ?? false,
    totals: verdictTotals(sorted),
    clauses: clauseSummary(sorted),
    ...(opts.gate ? { gate: evaluateGate(sorted, opts.gate, { interrupted: opts.interrupted ?? false }) } : {}),
    cases: sorted.map((c) => {
      const pcap = c.pcapPath && existsSync(c.pcapPath)
        ? { file: basename(c.pcapPath), bytes: statSync(c.pcapPath).size, sha256: sha256File(c.pcapPath) }
        : undefined;
      return {
        id: c.id, role: c.role, clause: c.clause, procedure: c.procedure, title: c.title, requirement: c.requirement,
        mandatory: c.mandatory, severity: c.severity, verdict: c.verdict, reason: reportedReason(c),
        ...(headlineBlame(c) ? { blame: headlineBlame(c) } : {}),
        sut: c.sut.name, ...(c.sut.faults?.length ? { faults: c.sut.faults } : {}),
        startedAt: new Date(c.startedAt).toISOString(), durationMs: Math.round(c.durationMs * 1000) / 1000,
        ...(pcap ? { pcap } : {}),
      };
    }),
  };
}

const VERDICT_COLOR: Record<ReportVerdict, string> = { PASS: '#2e7d32', FAIL: '#c62828', INCONC: '#6a1b9a', ERROR: '#e65100', 'NOT-APPLICABLE': '#607d8b', 'NOT-RUN': '#37474f' };

function kvTable(title: string, value: unknown): Child {
  if (value === undefined || value === null) return null;
  const rows: [string, string][] = [];
  const walk = (v: unknown, prefix: string): void => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    else rows.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)]);
  };
  walk(value, '');
  return el('section', {}, [
    el('h3', {}, title),
    el('table', { class: 'kv' }, el('tbody', {}, rows.map(([k, v]) => el('tr', {}, [el('th', {}, k), el('td', {}, v)])))),
  ]);
}

/** The certification summary as a standalone HTML page (no script, no external resource). */
export function certificationHtml(cert: Certification, jsonSha256: string): string {
  const verdictCell = (v: ReportVerdict): Child => el('td', { class: 'verdict', style: `color:${VERDICT_COLOR[v]};font-weight:bold` }, v);
  const style = [
    'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#263238}',
    'table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #cfd8dc;padding:4px 8px;text-align:left;vertical-align:top}',
    'th{background:#eceff1}code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.85em;word-break:break-all}',
    '.kv th{width:22em}.gate-pass{color:#2e7d32}.gate-fail{color:#c62828}td.id{white-space:nowrap}td.num{text-align:right}',
  ].join('\n');
  const sutRows = cert.suts.map((s) => el('tr', {}, [el('td', {}, s.name), el('td', {}, parentSuiteForRole(s.role)), el('td', {}, s.embedded ? 'embedded reference' : 'external SUT')]));
  const page = el('html', { lang: 'en' }, [
    el('head', {}, [
      el('meta', { charset: 'utf-8' }),
      el('title', {}, `Certification summary — ${cert.specification}`),
      el('style', {}, style),
    ]),
    el('body', {}, [
      el('h1', {}, 'mbms-conform certification summary'),
      el('p', {}, [`${cert.specification}. Generated ${cert.generatedAt} by ${cert.tool.name} ${cert.tool.version}.`]),
      el('p', {}, ['SHA-256 of the machine-readable summary (certification.json): ', el('code', { class: 'hash', id: 'summary-sha256' }, jsonSha256)]),
      cert.interrupted
        ? el('p', { class: 'gate-fail', id: 'interrupted' }, `INTERRUPTED RUN: the run did not finish; ${cert.totals['NOT-RUN']} case${cert.totals['NOT-RUN'] === 1 ? '' : 's'} never ran (NOT-RUN). This summary certifies nothing.`)
        : null,
      el('h2', {}, 'Systems under test'),
      el('table', {}, [el('thead', {}, el('tr', {}, [el('th', {}, 'SUT'), el('th', {}, 'role'), el('th', {}, 'kind')])), el('tbody', {}, sutRows)]),
      cert.runs.map((run) => el('section', { class: 'run' }, [
        el('h2', {}, `${run.sut.role ? parentSuiteForRole(run.sut.role) : 'SUT'}: ${run.sut.name}`),
        kvTable('Identity', run.sut),
        run.profileName ? el('p', {}, ['Profile: ', el('code', {}, run.profileName)]) : null,
        kvTable('Capability statement', run.capabilities),
        kvTable('Profile values', run.profile),
      ])),
      el('h2', {}, 'Totals'),
      el('table', {}, [
        el('thead', {}, el('tr', {}, (Object.keys(cert.totals) as ReportVerdict[]).map((v) => el('th', {}, v)))),
        el('tbody', {}, el('tr', {}, (Object.values(cert.totals)).map((n) => el('td', {}, n)))),
      ]),
      el('h2', {}, 'Per clause'),
      el('table', { id: 'clauses' }, [
        el('thead', {}, el('tr', {}, ['SUT role', 'clause', 'procedure', 'PASS', 'FAIL', 'INCONC', 'ERROR', 'N/A', 'NOT-RUN'].map((h) => el('th', {}, h)))),
        el('tbody', {}, cert.clauses.map((r) => el('tr', {}, [
          el('td', {}, parentSuiteForRole(r.role)), el('td', {}, r.clause), el('td', {}, r.procedure),
          ...(['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE', 'NOT-RUN'] as const).map((v) => el('td', { class: 'num' }, r.counts[v])),
        ]))),
      ]),
      cert.gate ? el('p', { class: cert.gate.passed ? 'gate-pass' : 'gate-fail', id: 'gate' }, `Quality gate '${cert.gate.gate}': ${cert.gate.passed ? 'passed' : 'FAILED'}: ${cert.gate.reason}`) : null,
      el('h2', {}, 'Cases'),
      el('table', { id: 'cases' }, [
        el('thead', {}, el('tr', {}, ['case', 'role', 'clause', 'title', 'mandatory', 'verdict', 'reason', 'pcap SHA-256'].map((h) => el('th', {}, h)))),
        el('tbody', {}, cert.cases.map((c) => el('tr', { 'data-case-id': c.id }, [
          el('td', { class: 'id' }, el('code', {}, c.id)), el('td', {}, parentSuiteForRole(c.role)), el('td', {}, c.clause),
          el('td', {}, [c.title, el('br'), el('small', {}, c.requirement)]),
          el('td', {}, c.mandatory ? 'yes' : 'no'), verdictCell(c.verdict), el('td', {}, c.reason),
          el('td', { class: 'hash' }, c.pcap ? [c.pcap.sha256, el('br'), el('small', {}, `${c.pcap.file}, ${c.pcap.bytes} bytes`)] : '—'),
        ]))),
      ]),
    ]),
  ]);
  return `<!DOCTYPE html>\n${render(page, 'html')}\n`;
}

export interface WrittenCertification { jsonPath: string; htmlPath: string; sha256Path: string; sha256: string; certification: Certification }

/**
 * Writes reports/certification.json, certification.json.sha256 (sha256sum format) and
 * certification.html (which quotes the JSON's SHA-256).
 */
export function writeCertification(cert: Certification, outDir = 'reports'): WrittenCertification {
  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, 'certification.json');
  const text = `${JSON.stringify(cert, null, 2)}\n`;
  writeFileSync(jsonPath, text);
  const sha256 = createHash('sha256').update(text).digest('hex');
  const sha256Path = `${jsonPath}.sha256`;
  writeFileSync(sha256Path, `${sha256}  certification.json\n`);
  const htmlPath = join(outDir, 'certification.html');
  writeFileSync(htmlPath, certificationHtml(cert, sha256));
  return { jsonPath, htmlPath, sha256Path, sha256, certification: cert };
}
