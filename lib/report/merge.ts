// Merging the results of sharded runs (Playwright `--shard i/n`, one CI machine per shard): every
// shard's reports/results (CaseResult JSON + pcaps) and reports/allure-results are copied into one
// place, each case kept once. A case present in several sources (a shard re-run, the same results
// copied twice) keeps its latest run, so the merged report counts every case exactly once.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MergeTargetError } from './errors.ts';
import { caseResultFileName, readCaseResults, readRunInfos, serializeCaseResult, writeRunInfo } from './results.ts';
import { readRunPlans, writeRunPlan } from './run-plan.ts';
import { LABEL } from './status.ts';
import type { CaseResult, RunInfo } from './types.ts';

export interface ShardSource {
  /** Directory of CaseResult JSON files (reports/results of a shard), if any. */
  resultsDir?: string;
  /** Directory of Allure results (reports/allure-results of a shard), if any. */
  allureResultsDir?: string;
}

const isAllureResultsDir = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('-result.json'));

/**
 * Finds what a source directory holds: a shard's reports directory (with `results/` and
 * `allure-results/` inside), a bare Allure results directory, or a bare CaseResult directory.
 */
export function resolveShardSource(dir: string): ShardSource {
  const source: ShardSource = {};
  if (existsSync(join(dir, 'results'))) source.resultsDir = join(dir, 'results');
  if (existsSync(join(dir, 'allure-results'))) source.allureResultsDir = join(dir, 'allure-results');
  if (!source.resultsDir && !source.allureResultsDir) {
    if (isAllureResultsDir(dir)) source.allureResultsDir = dir;
    else source.resultsDir = dir;
  }
  return source;
}

export interface MergeSummary {
  cases: number;
  allureResults: number;
  /** Case ids (or Allure history ids) seen more than once; the latest run was kept. */
  duplicates: string[];
  sources: number;
}

export interface AllureResultFile {
  uuid: string; name?: string; fullName?: string; status?: string; historyId?: string; testCaseId?: string; start?: number; stop?: number;
  labels?: { name: string; value: string }[];
  attachments?: { source: string }[];
  steps?: AllureStepLike[];
}
interface AllureStepLike { attachments?: { source: string }[]; steps?: AllureStepLike[] }

function attachmentSources(node: AllureStepLike, into: Set<string>): Set<string> {
  for (const a of node.attachments ?? []) into.add(a.source);
  for (const s of node.steps ?? []) attachmentSources(s, into);
  return into;
}

/** The identity of an Allure result across shards: the case id label, else Allure's history id. */
export function allureResultKey(r: AllureResultFile): string {
  return r.labels?.find((l) => l.name === LABEL.caseId)?.value ?? r.historyId ?? r.testCaseId ?? r.uuid;
}

// The destination is emptied before the copy: merging into one of the sources would lose it.
function assertNotASource(sourceDirs: readonly string[], destDir: string): void {
  const dest = resolve(destDir);
  if (sourceDirs.some((d) => resolve(d) === dest)) throw new MergeTargetError(destDir);
}

function later<T extends { startedAt?: number; stop?: number }>(a: T, b: T): boolean {
  return (b.stop ?? b.startedAt ?? 0) > (a.stop ?? a.startedAt ?? 0);
}

/** Merges the CaseResult files of several directories into `destDir` (emptied first); each case once. */
export function mergeCaseResults(sourceDirs: readonly string[], destDir: string): { cases: CaseResult[]; duplicates: string[]; runs: RunInfo[] } {
  assertNotASource(sourceDirs, destDir);
  const byId = new Map<string, CaseResult>();
  const duplicates = new Set<string>();
  // One run info per SUT role (the first found): every shard of a run tested the same SUTs.
  const runs = new Map<string, RunInfo>();
  for (const dir of sourceDirs) {
    for (const info of readRunInfos(dir)) if (!runs.has(info.sut.role ?? '')) runs.set(info.sut.role ?? '', info);
    for (const { result } of readCaseResults(dir)) {
      const seen = byId.get(result.id);
      if (seen) duplicates.add(result.id);
      if (!seen || later({ startedAt: seen.startedAt }, { startedAt: result.startedAt })) byId.set(result.id, result);
    }
  }
  rmSync(destDir, { recursive: true, force: true });
  mkdirSync(destDir, { recursive: true });
  const cases = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const c of cases) {
    const file = caseResultFileName(c.id);
    let stored = c;
    if (c.pcapPath && existsSync(c.pcapPath)) {
      const pcapName = file.replace(/\.json$/, '.pcap');
      copyFileSync(c.pcapPath, join(destDir, pcapName));
      stored = { ...c, pcapPath: pcapName };
    }
    writeFileSync(join(destDir, file), serializeCaseResult(stored));
  }
  for (const info of runs.values()) writeRunInfo(info, destDir);
  // The run plans of every shard: the merged report knows every case that was planned, and whether
  // each shard ended (a shard that was interrupted keeps the merged run interrupted).
  sourceDirs.forEach((dir, i) => {
    for (const { file, plan } of readRunPlans(dir)) writeRunPlan(plan, destDir, `run-plan-${i + 1}-${file.replace(/^run-plan-?|\.json$/g, '') || 'all'}.json`);
  });
  return { cases: readCaseResults(destDir).map((l) => l.result), duplicates: [...duplicates], runs: [...runs.values()] };
}

/**
 * Merges Allure results directories into `destDir` (emptied first): one result per case (latest
 * `stop` wins), with exactly the attachments that result references; containers are kept only
 * for kept results. environment.properties and categories.json are left to `writeResultsMetadata`.
 */
export function mergeAllureResults(sourceDirs: readonly string[], destDir: string, opts: { keep?: (result: AllureResultFile) => boolean } = {}): { results: number; duplicates: string[]; dropped: number } {
  assertNotASource(sourceDirs, destDir);
  let dropped = 0;
  const kept = new Map<string, { dir: string; file: string; result: AllureResultFile }>();
  const duplicates = new Set<string>();
  for (const dir of sourceDirs) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('-result.json'))) {
      const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as AllureResultFile;
      if (opts.keep && !opts.keep(result)) { dropped++; continue; }
      const key = allureResultKey(result);
      const seen = kept.get(key);
      if (seen) duplicates.add(key);
      if (!seen || later(seen.result, result)) kept.set(key, { dir, file, result });
    }
  }
  rmSync(destDir, { recursive: true, force: true });
  mkdirSync(destDir, { recursive: true });
  const keptUuids = new Set<string>();
  for (const { dir, file, result } of kept.values()) {
    copyFileSync(join(dir, file), join(destDir, file));
    keptUuids.add(result.uuid);
    for (const source of attachmentSources(result, new Set())) {
      const from = join(dir, basename(source));
      if (existsSync(from) && statSync(from).isFile()) copyFileSync(from, join(destDir, basename(source)));
    }
  }
  for (const dir of sourceDirs) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('-container.json'))) {
      const container = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { children?: string[] };
      const children = (container.children ?? []).filter((c) => keptUuids.has(c));
      if (children.length) writeFileSync(join(destDir, file), JSON.stringify({ ...container, children }));
    }
  }
  return { results: kept.size, duplicates: [...duplicates], dropped };
}

/** Project names of the conformance suites (allure-playwright's default parentSuite when `reportCase` never ran). */
export const CONFORMANCE_PROJECTS: readonly string[] = ['bmsc', 'ue'];

/**
 * Whether an Allure result belongs to the conformance report: it carries a case id, or it comes from
 * a conformance project (a case that died before reporting must still show). Library, e2e and
 * self-check tests share the results directory when everything runs at once (`npm test`).
 */
export function isConformanceResult(result: AllureResultFile): boolean {
  const labels = result.labels ?? [];
  return labels.some((l) => l.name === LABEL.caseId) || labels.some((l) => l.name === 'parentSuite' && CONFORMANCE_PROJECTS.includes(l.value));
}

/**
 * Conformance tests that failed without reporting a verdict (the harness died before `reportCase`):
 * no verdict label and a status other than passed/skipped. They have no CaseResult file, so the
 * certification cannot count them; the run must not pass its gate silently.
 */
export function unjudgedFailures(allureResultsDir: string): string[] {
  if (!existsSync(allureResultsDir)) return [];
  return readdirSync(allureResultsDir).filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(join(allureResultsDir, f), 'utf8')) as AllureResultFile)
    .filter((r) => isConformanceResult(r) && !(r.labels ?? []).some((l) => l.name === LABEL.verdict) && r.status !== 'passed' && r.status !== 'skipped')
    .map((r) => r.fullName ?? r.name ?? r.uuid).sort();
}

/**
 * Merges shard directories into `dest` (`<dest>.resultsDir`, `<dest>.allureResultsDir`).
 * Sources are shard report directories or bare results directories (see `resolveShardSource`).
 */
export function mergeShards(sourceDirs: readonly string[], dest: { resultsDir: string; allureResultsDir: string }): MergeSummary & { caseResults: CaseResult[]; runs: RunInfo[] } {
  const sources = sourceDirs.map(resolveShardSource);
  const caseMerge = mergeCaseResults(sources.flatMap((s) => (s.resultsDir ? [s.resultsDir] : [])), dest.resultsDir);
  const allureMerge = mergeAllureResults(sources.flatMap((s) => (s.allureResultsDir ? [s.allureResultsDir] : [])), dest.allureResultsDir);
  return {
    cases: caseMerge.cases.length,
    allureResults: allureMerge.results,
    duplicates: [...new Set([...caseMerge.duplicates, ...allureMerge.duplicates])],
    sources: sources.length,
    caseResults: caseMerge.cases,
    runs: caseMerge.runs,
  };
}

