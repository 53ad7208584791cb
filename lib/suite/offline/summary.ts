// The human summary (per procedure instance, then per check) and the machine-readable form of an
// analysis; the exit code rule of `mbms-conform analyze`.
import { basename } from 'node:path';
import type { TraceEvent } from '../../trace/index.ts';
import type { Finding, Role, Verdict } from '../verdict.ts';
import type { AnalysisResult } from './analyze.ts';
import type { CheckCounts, ProcedureResult } from './instance.ts';

const COLUMNS: Verdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE'];
const SIDE: Record<Role, string> = { bmsc: '[BM-SC]', ue: '[UE]' };

/** Which side failed which rules in one procedure instance: "failed by the UE: ack.iff-v; by the BM-SC: mikey.mac". */
export function failedBy(findings: readonly Finding[]): Partial<Record<Role, string[]>> {
  const by: Partial<Record<Role, string[]>> = {};
  for (const f of findings) if (f.verdict === 'FAIL' && f.blame) (by[f.blame] ??= []).includes(f.check) || by[f.blame]!.push(f.check);
  return by;
}

/** 0: every procedure instance PASS (or NOT-APPLICABLE); 1: anything else (FAIL, INCONC, ERROR, or none found). */
export function exitCodeOf(result: Pick<AnalysisResult, 'verdict'>): 0 | 1 {
  return result.verdict === 'PASS' || result.verdict === 'NOT-APPLICABLE' ? 0 : 1;
}

const show = (v: unknown): string => {
  const text = typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return text === undefined ? '' : text.length > 100 ? `${text.slice(0, 97)}...` : text;
};

function findingLine(f: Finding): string[] {
  const where = `events ${f.evidence.events.join(',') || '-'}, frames ${f.evidence.frames.join(',') || '-'}`;
  const side = f.blame ? `${SIDE[f.blame]} ` : '';
  const lines = [`      ${f.verdict.padEnd(6)} ${side}${f.check}: ${f.message} [${where}]`];
  if (f.expected !== undefined || f.actual !== undefined) lines.push(`             expected ${show(f.expected)}; actual ${show(f.actual)}`);
  return lines;
}

export function formatSummary(result: AnalysisResult): string {
  const out: string[] = [];
  out.push(`mbms-conform analyze ${basename(result.capture)}: ${result.format}, ${result.frames} frames, ${result.events} events, MIKEY port${result.mikeyPorts.length > 1 ? 's' : ''} ${result.mikeyPorts.join(',')}${result.httpPorts ? `, HTTP port${result.httpPorts.length > 1 ? 's' : ''} ${result.httpPorts.join(',')}` : ''}`);
  if (result.truncated) {
    out.push(`warning: the capture ends inside a record at byte ${result.truncated.offset}: judged up to frame ${result.truncated.afterFrame}, its last whole record`);
  }
  out.push('');
  out.push(`Procedures (${result.procedures.length}${Object.keys(result.omitted ?? {}).length ? ' listed' : ''})`);
  for (const p of result.procedures) {
    const frames = p.firstFrame === p.lastFrame ? `frame ${p.firstFrame}` : `frames ${p.firstFrame}-${p.lastFrame}`;
    out.push(`  ${p.verdict.padEnd(6)} ${p.id.padEnd(18)} ${p.clause.padEnd(8)} ${p.title}${p.ue ? ` (${p.ue})` : ''}, ${p.eventCount} events, ${frames}`);
    const by = failedBy(p.findings);
    const blamed = (['bmsc', 'ue'] as const).filter((r) => by[r]).map((r) => `the ${r === 'bmsc' ? 'BM-SC' : 'UE'} (${by[r]!.join(', ')})`);
    if (blamed.length) out.push(`      failed by ${blamed.join(' and ')}`);
    for (const f of p.findings) if (f.verdict !== 'PASS') out.push(...findingLine(f));
    if (p.omittedFindings > 0) out.push(`      ... ${p.omittedFindings} more non-PASS findings (counted under Checks)`);
  }
  const omitted = Object.entries(result.omitted ?? {}).map(([kind, byVerdict]) => [kind, Object.entries(byVerdict ?? {})] as const);
  const omittedTotal = omitted.reduce((n, [, vs]) => n + vs.reduce((m, [, k]) => m + (k ?? 0), 0), 0);
  if (omittedTotal > 0) {
    out.push(`  ... and ${omittedTotal} more instances, judged and counted but not listed: ${omitted.map(([kind, vs]) => `${kind} ${vs.map(([v, k]) => `${k} ${v}`).join(', ')}`).join('; ')}`);
  }
  out.push('');
  out.push('Checks');
  const names = Object.keys(result.checks).sort();
  const width = Math.max(24, ...names.map((n) => n.length));
  out.push(`  ${'check'.padEnd(width)} ${COLUMNS.map((c) => (c === 'NOT-APPLICABLE' ? 'N/A' : c).padStart(7)).join('')}`);
  for (const name of names) {
    const c: CheckCounts = result.checks[name]!;
    out.push(`  ${name.padEnd(width)} ${COLUMNS.map((v) => String(c[v] || '.').padStart(7)).join('')}`);
  }
  if (result.problemCount > 0) {
    out.push('');
    out.push(`Capture problems (${result.problemCount})`);
    for (const p of result.problems) out.push(`  ${p.code} frames ${p.frames.join(',')}: ${p.message}`);
  }
  out.push('');
  const omittedOf = (v: Verdict) => Object.values(result.omitted ?? {}).reduce((n, byVerdict) => n + (byVerdict?.[v] ?? 0), 0);
  const counts = COLUMNS.map((v) => [v, result.procedures.filter((p) => p.verdict === v).length + omittedOf(v)] as const).filter(([, n]) => n > 0);
  out.push(`Verdict: ${result.verdict} (${counts.map(([v, n]) => `${n} ${v}`).join(', ') || 'no procedure found'})`);
  return `${out.join('\n')}\n`;
}

function eventJson(e: TraceEvent): Record<string, unknown> {
  const base = { id: e.id, kind: e.kind, time: e.time, frames: e.frames, src: e.src, dst: e.dst, actor: e.actor };
  if (e.kind === 'http-request') return { ...base, method: e.method, target: e.target };
  if (e.kind === 'http-response') return { ...base, status: e.status, reason: e.reason, requestId: e.requestId };
  if (e.kind === 'mikey') return { ...base, length: e.bytes.length, ...(e.decodeError ? { decodeError: e.decodeError } : {}) };
  return { ...base, text: e.text };
}

const plain = (data: unknown): unknown => JSON.parse(JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

/** One procedure instance as plain JSON data (no Buffers, no bigints). */
export function procedureJson(p: ProcedureResult): Record<string, unknown> {
  return plain({
    id: p.id, procedure: p.procedure, clause: p.clause, title: p.title, ue: p.ue, verdict: p.verdict,
    firstFrame: p.firstFrame, lastFrame: p.lastFrame, eventCount: p.eventCount, omittedFindings: p.omittedFindings, ...(p.listed === false ? { listed: false } : {}),
    failedBy: failedBy(p.findings), checks: p.checks, findings: p.findings, events: p.events.map(eventJson),
  }) as Record<string, unknown>;
}

/** What the capture and the whole analysis came to, without the instances (the last line of `--json`). */
function totalsJson(result: AnalysisResult): Record<string, unknown> {
  return {
    capture: result.capture, format: result.format, readerThread: result.readerThread, frames: result.frames, events: result.events,
    mikeyPorts: result.mikeyPorts, httpPorts: result.httpPorts, verdict: result.verdict,
    ...(result.truncated ? { truncated: result.truncated } : {}),
  };
}

/** The whole analysis as one plain JSON document (the API's form; Allure attachments, tests). */
export function analysisJson(result: AnalysisResult): unknown {
  return plain({
    ...totalsJson(result),
    procedures: result.procedures.map(procedureJson),
    omitted: result.omitted ?? {},
    checks: result.checks,
    problems: result.problems, problemCount: result.problemCount,
  });
}

/**
 * `analyze --json`: newline-delimited JSON, so its memory stays flat whatever the capture holds. One line
 * `{"record":"procedure", ...}` per procedure instance as it is judged (every instance, in the order they
 * are judged, not only those the summary lists), then one line `{"record":"summary", ...}` with the
 * capture, the overall verdict, the instances per procedure kind and verdict, the counts per check and
 * the trace problems.
 */
export function procedureLine(p: ProcedureResult): string {
  return `${JSON.stringify({ record: 'procedure', ...procedureJson(p) })}\n`;
}

export function summaryLine(result: AnalysisResult): string {
  // every instance judged: the listed ones and those only counted (`omitted`)
  const instances = structuredClone(result.omitted ?? {});
  for (const p of result.procedures) {
    const byVerdict = (instances[p.procedure] ??= {});
    byVerdict[p.verdict] = (byVerdict[p.verdict] ?? 0) + 1;
  }
  return `${JSON.stringify(plain({ record: 'summary', ...totalsJson(result), instances, checks: result.checks, problems: result.problems, problemCount: result.problemCount }))}\n`;
}
