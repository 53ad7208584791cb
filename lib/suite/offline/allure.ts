// Allure results of an offline analysis: a result per failing procedure instance and one per procedure
// kind for its PASS instances (bounded whatever the capture holds), in the Allure result
// format (<uuid>-result.json with labels, steps and attachments as <uuid>-attachment.<ext> files), since
// lib/report's reportCase writes through a running Playwright test, which an offline analysis is not.
// Statuses say the verdict the same way the live runs do (status-map.ts allureIntended).
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { mapVerdict } from '../status-map.ts';
import { findingTitle, worse, type Finding, type Verdict } from '../verdict.ts';
import type { AnalysisResult } from './analyze.ts';
import { PROCEDURE_INFO, type ProcedureKind, type ProcedureResult } from './instance.ts';
import { procedureJson } from './summary.ts';

export const DEFAULT_ANALYZE_ALLURE_DIR = 'reports/analyze/allure-results';
const SPEC_URL = 'https://www.3gpp.org/DynaReport/33246.htm';

export interface AllureAttachmentSource { name: string; type: string; extension: string; content: string | Buffer }

export interface WriteAllureOptions {
  /** Extra attachments per procedure (e.g. lib/report's ladder diagram, added by the CLI). */
  attachments?: (procedure: ProcedureResult) => AllureAttachmentSource[];
}

const stringify = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));

function details(f: Finding | undefined): { message?: string; trace?: string } | undefined {
  if (!f) return undefined;
  const where = `events ${f.evidence.events.join(',') || '-'}; frames ${f.evidence.frames.join(',') || '-'}`;
  const ea = f.expected !== undefined || f.actual !== undefined ? `\nexpected: ${stringify(f.expected)}\nactual:   ${stringify(f.actual)}` : '';
  return { message: `${f.verdict} ${findingTitle(f)}`, trace: `${where}${ea}` };
}

/**
 * Writes the results into `dir` (created); returns the paths of the result files. Bounded whatever the
 * capture holds: one result per procedure instance that did not pass (as the analysis lists them), and
 * one result per procedure kind for all its PASS instances, with their count, a step per listed instance
 * and the attachments of the first as an example; instances judged but not listed (past the analysis's
 * bounds) are counted in their kind's result.
 */
export function writeAllureResults(result: AnalysisResult, dir: string, options: WriteAllureOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const capture = basename(result.capture);
  const written: string[] = [];
  const write = (doc: { uuid: string }) => {
    const path = join(dir, `${doc.uuid}-result.json`);
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    written.push(path);
  };
  // The findings and events of an instance, and the caller's extra attachments, written beside the results
  const attachmentsOf = (p: ProcedureResult): Attachment[] => [
    { name: 'findings and events', type: 'application/json', extension: 'json', content: `${JSON.stringify(procedureJson(p), null, 2)}\n` },
    ...(options.attachments?.(p) ?? []),
  ].map((a) => {
    const source = `${randomUUID()}-attachment.${a.extension}`;
    writeFileSync(join(dir, source), a.content);
    return { name: a.name, source, type: a.type };
  });
  for (const p of result.procedures) if (p.verdict !== 'PASS') write(instanceResult(p, capture, result.firstTime, attachmentsOf(p)));
  const kinds = new Set<ProcedureKind>([...result.procedures.map((p) => p.procedure), ...(Object.keys(result.omitted ?? {}) as ProcedureKind[])]);
  for (const kind of kinds) {
    const passed = result.procedures.filter((p) => p.procedure === kind && p.verdict === 'PASS');
    const notListed = result.omitted?.[kind] ?? {};
    if (passed.length === 0 && Object.keys(notListed).length === 0) continue;
    // the first PASS instance's attachments stand as the example
    write(kindResult(kind, passed, notListed, capture, result.firstTime, passed[0] ? attachmentsOf(passed[0]) : []));
  }
  return written;
}

type Attachment = { name: string; source: string; type: string };

function labelsFor(procedure: ProcedureKind, clause: string, title: string, capture: string, verdict: string) {
  const feature = `${title} (${clause})`;
  return [
    { name: 'epic', value: 'TS 33.246 key management' },
    { name: 'feature', value: feature },
    { name: 'story', value: title },
    { name: 'parentSuite', value: 'Offline analysis' },
    { name: 'suite', value: capture },
    { name: 'subSuite', value: feature },
    { name: 'severity', value: 'normal' },
    { name: 'verdict', value: verdict },
    { name: 'clause', value: clause },
    { name: 'procedure', value: procedure },
    { name: 'tag', value: 'offline' },
  ];
}

/** The result of one procedure instance: a step per check, the kept findings as sub-steps. */
function instanceResult(p: ProcedureResult, capture: string, firstTime: number | undefined, attachments: Attachment[]) {
  const uuid = randomUUID();
  const start = Math.round(Number.isFinite(p.startTime) ? p.startTime : firstTime ?? 0);
  const stop = Math.round(Number.isFinite(p.endTime) ? p.endTime : start);
  const headline = p.findings.find((f) => f.verdict === p.verdict);
  // One step per check, with the kept findings as sub-steps (PASS examples and every kept failure)
  const steps = Object.entries(p.checks).map(([check, counts]) => {
    const verdict = (['ERROR', 'FAIL', 'INCONC', 'NOT-APPLICABLE', 'PASS'] as const).find((v) => counts[v] > 0)!;
    const summary = Object.entries(counts).filter(([, n]) => n > 0).map(([v, n]) => `${n} ${v}`).join(', ');
    const kept = p.findings.filter((f) => f.check === check);
    return {
      name: `${check}: ${summary}`, status: mapVerdict(verdict).allureIntended, stage: 'finished', start, stop,
      statusDetails: details(kept.find((f) => f.verdict === verdict)) ?? {},
      steps: kept.map((f) => ({
        name: `[${f.verdict}] ${f.message} (frames ${f.evidence.frames.join(',') || '-'})`, status: mapVerdict(f.verdict).allureIntended, stage: 'finished', start, stop,
        statusDetails: f.verdict === 'PASS' ? {} : details(f) ?? {}, steps: [], attachments: [], parameters: [],
      })),
      attachments: [], parameters: [],
    };
  });
  return {
    uuid,
    historyId: createHash('md5').update(`${capture}:${p.id}`).digest('hex'),
    testCaseId: createHash('md5').update(`analyze:${p.procedure}`).digest('hex'),
    name: `${p.id} ${p.title}${p.ue ? ` (${p.ue})` : ''}`,
    fullName: `analyze:${capture}:${p.id}`,
    status: mapVerdict(p.verdict).allureIntended,
    statusDetails: details(headline) ?? {},
    stage: 'finished',
    start, stop,
    description: `Offline re-judging of ${capture}, frames ${p.firstFrame}-${p.lastFrame} (${p.eventCount} events): **${p.verdict}**${headline && p.verdict !== 'PASS' ? ` — ${findingTitle(headline)}` : ''}`,
    labels: labelsFor(p.procedure, p.clause, p.title, capture, p.verdict),
    parameters: [{ name: 'capture', value: capture }, ...(p.ue ? [{ name: 'UE', value: p.ue }] : []), { name: 'frames', value: `${p.firstFrame}-${p.lastFrame}` }],
    links: [{ name: `TS 33.246 clause ${p.clause}`, url: SPEC_URL, type: 'tms' }],
    steps,
    attachments,
  };
}

/** The result of a procedure kind's PASS instances (and of its instances judged but not listed). */
function kindResult(
  kind: ProcedureKind, passed: ProcedureResult[], notListed: Partial<Record<Verdict, number>>, capture: string, firstTime: number | undefined, attachments: Attachment[],
) {
  const info = PROCEDURE_INFO[kind];
  const counts = { ...notListed, PASS: passed.length + (notListed.PASS ?? 0) };
  const verdict = (Object.keys(counts) as Verdict[]).filter((v) => (counts[v] ?? 0) > 0).reduce<Verdict>(worse, 'PASS');
  const said = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0).map(([v, n]) => `${n} ${v}`).join(', ');
  const times = passed.flatMap((p) => [p.startTime, p.endTime]).filter(Number.isFinite);
  const start = Math.round(times.length ? Math.min(...times) : firstTime ?? 0);
  const stop = Math.round(times.length ? Math.max(...times) : start);
  const unlisted = Object.values(notListed).reduce((a, n) => a + (n ?? 0), 0);
  return {
    uuid: randomUUID(),
    historyId: createHash('md5').update(`${capture}:${kind}:passed`).digest('hex'),
    testCaseId: createHash('md5').update(`analyze:${kind}:passed`).digest('hex'),
    name: `${kind}: ${said}`,
    fullName: `analyze:${capture}:${kind}`,
    status: mapVerdict(verdict).allureIntended,
    statusDetails: unlisted ? { message: `${unlisted} instance${unlisted === 1 ? '' : 's'} judged and counted but not listed: ${Object.entries(notListed).map(([v, n]) => `${n} ${v}`).join(', ')}` } : {},
    stage: 'finished',
    start, stop,
    description: `Offline re-judging of ${capture}: the ${info.title} instances (${info.clause}) that passed, ${passed.length} listed` +
      `${unlisted ? `, and ${unlisted} more judged and counted but not listed (${said})` : ''}; the attachments are the first one's. Instances that did not pass have results of their own.`,
    labels: labelsFor(kind, info.clause, info.title, capture, verdict),
    parameters: [{ name: 'capture', value: capture }, { name: 'instances', value: String(passed.length + unlisted) }],
    links: [{ name: `TS 33.246 clause ${info.clause}`, url: SPEC_URL, type: 'tms' }],
    steps: passed.map((p) => ({
      name: `${p.id}${p.ue ? ` (${p.ue})` : ''}: PASS, frames ${p.firstFrame}-${p.lastFrame}, ${p.eventCount} events`,
      status: 'passed', stage: 'finished', start: Math.round(Number.isFinite(p.startTime) ? p.startTime : start), stop: Math.round(Number.isFinite(p.endTime) ? p.endTime : stop),
      statusDetails: {}, steps: [], attachments: [], parameters: [],
    })),
    attachments,
  };
}
