// Allure results of an offline analysis: one result file per procedure instance, in the Allure result
// format (<uuid>-result.json with labels, steps and attachments as <uuid>-attachment.<ext> files), since
// lib/report's reportCase writes through a running Playwright test, which an offline analysis is not.
// Statuses say the verdict the same way the live runs do (status-map.ts allureIntended).
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { mapVerdict } from '../status-map.ts';
import { findingTitle, type Finding } from '../verdict.ts';
import type { AnalysisResult } from './analyze.ts';
import type { ProcedureResult } from './instance.ts';
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

/** Writes the results into `dir` (created); returns the paths of the result files. */
export function writeAllureResults(result: AnalysisResult, dir: string, options: WriteAllureOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const capture = basename(result.capture);
  const written: string[] = [];
  for (const p of result.procedures) {
    const uuid = randomUUID();
    const attachments: { name: string; source: string; type: string }[] = [];
    const attach = (a: AllureAttachmentSource) => {
      const source = `${randomUUID()}-attachment.${a.extension}`;
      writeFileSync(join(dir, source), a.content);
      attachments.push({ name: a.name, source, type: a.type });
    };
    const json = procedureJson(p);
    attach({ name: 'findings and events', type: 'application/json', extension: 'json', content: `${JSON.stringify(json, null, 2)}\n` });
    for (const a of options.attachments?.(p) ?? []) attach(a);
    const start = Math.round(Number.isFinite(p.startTime) ? p.startTime : result.firstTime ?? 0);
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
    const feature = `${p.title} (${p.clause})`;
    const doc = {
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
      labels: [
        { name: 'epic', value: 'TS 33.246 key management' },
        { name: 'feature', value: feature },
        { name: 'story', value: p.title },
        { name: 'parentSuite', value: 'Offline analysis' },
        { name: 'suite', value: capture },
        { name: 'subSuite', value: feature },
        { name: 'severity', value: 'normal' },
        { name: 'verdict', value: p.verdict },
        { name: 'clause', value: p.clause },
        { name: 'procedure', value: p.procedure },
        { name: 'tag', value: 'offline' },
      ],
      parameters: [{ name: 'capture', value: capture }, ...(p.ue ? [{ name: 'UE', value: p.ue }] : []), { name: 'frames', value: `${p.firstFrame}-${p.lastFrame}` }],
      links: [{ name: `TS 33.246 clause ${p.clause}`, url: SPEC_URL, type: 'tms' }],
      steps,
      attachments,
    };
    const path = join(dir, `${uuid}-result.json`);
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    written.push(path);
  }
  return written;
}
