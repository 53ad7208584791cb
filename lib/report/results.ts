// CaseResult files: the spec writes one JSON file per case (reports/results/<id>.json) so that
// the certification summary, the per-clause summary and the merge of sharded runs are built
// from files, whichever machine or worker produced them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { CaseResultFileError } from './errors.ts';
import type { CaseResult, RunInfo, SutRole } from './types.ts';
import { VERDICTS } from './types.ts';
import { RUN_PLAN_FILE_PATTERN } from './run-plan.ts';

export const DEFAULT_RESULTS_DIR = 'reports/results';
export const DEFAULT_ALLURE_RESULTS_DIR = 'reports/allure-results';
export const RUN_INFO_FILE = 'run-info.json';
/** run-info.json, or run-info-<role>.json when the run info names the SUT role (a run of both roles has two). */
export const RUN_INFO_FILE_PATTERN = /^run-info(-[a-z]+)?\.json$/;

/** The results directory of this process: $MBMS_RESULTS_DIR (set by `mbms-conform run`) or reports/results. */
export function defaultResultsDir(): string {
  return process.env.MBMS_RESULTS_DIR || DEFAULT_RESULTS_DIR;
}

/** File name of a case: the stable id with '/' turned into '__' ('bmsc/6.3.1/03' -> 'bmsc__6.3.1__03.json'). */
export function caseResultFileName(id: string): string {
  return `${id.replace(/[/\\]/g, '__').replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

// Buffers and bigints survive the round trip as tagged objects; JSON.stringify calls
// Buffer#toJSON before the replacer sees the value, so the replacer looks at the holder.
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (Buffer.isBuffer(original) || original instanceof Uint8Array) return { $type: 'bytes', base64: Buffer.from(original).toString('base64') };
  if (typeof original === 'bigint') return { $type: 'bigint', value: original.toString() };
  return value;
}
function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = value as { $type?: unknown; base64?: unknown; value?: unknown };
    if (tagged.$type === 'bytes' && typeof tagged.base64 === 'string') return Buffer.from(tagged.base64, 'base64');
    if (tagged.$type === 'bigint' && typeof tagged.value === 'string') return BigInt(tagged.value);
  }
  return value;
}

export function serializeCaseResult(result: CaseResult): string {
  return `${JSON.stringify(result, replacer, 2)}\n`;
}

export function parseCaseResult(text: string, file = '<memory>'): CaseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviver);
  } catch (err) {
    throw new CaseResultFileError(file, `not JSON (${(err as Error).message})`);
  }
  const r = parsed as Partial<CaseResult> | null;
  if (!r || typeof r !== 'object') throw new CaseResultFileError(file, 'not an object');
  for (const field of ['id', 'role', 'clause', 'title', 'verdict'] as const) {
    if (typeof r[field] !== 'string') throw new CaseResultFileError(file, `missing string field '${field}'`);
  }
  if (!VERDICTS.includes(r.verdict!)) throw new CaseResultFileError(file, `unknown verdict '${r.verdict}'`);
  if (!Array.isArray(r.steps) || !Array.isArray(r.findings) || !Array.isArray(r.trace)) {
    throw new CaseResultFileError(file, 'missing steps/findings/trace arrays');
  }
  return r as CaseResult;
}

// Written to a temporary name and renamed: a run interrupted mid-write never leaves a
// truncated file that would break the report of everything else.
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Writes one CaseResult as JSON to `<dir>/<id>.json` (id with '/' as '__') and copies its pcap
 * beside it (`<id>.pcap`, `pcapPath` then relative to `dir`), so that a results directory is
 * self-contained: it can be copied from a CI shard and merged, and the certification summary
 * hashes the very pcap the verdict was computed from. Returns the JSON path.
 * Called by the conformance spec after each case (before `reportCase`).
 */
export function writeCaseResult(result: CaseResult, dir: string = defaultResultsDir()): string {
  mkdirSync(dir, { recursive: true });
  const file = caseResultFileName(result.id);
  const path = join(dir, file);
  let stored = result;
  if (result.pcapPath && existsSync(result.pcapPath)) {
    const pcapName = file.replace(/\.json$/, '.pcap');
    if (resolve(result.pcapPath) !== resolve(dir, pcapName)) copyFileSync(result.pcapPath, join(dir, pcapName));
    stored = { ...result, pcapPath: pcapName };
  }
  writeAtomically(path, serializeCaseResult(stored));
  return path;
}

/** Reads one CaseResult file; a relative `pcapPath` is resolved against the file's directory. */
export function readCaseResultFile(path: string): CaseResult {
  const result = parseCaseResult(readFileSync(path, 'utf8'), path);
  if (result.pcapPath && !isAbsolute(result.pcapPath)) result.pcapPath = join(path, '..', result.pcapPath);
  return result;
}

export interface LoadedCaseResult { file: string; result: CaseResult }

/** Reads every CaseResult JSON of a directory (not the run-info file), sorted by case id. */
export function readCaseResults(dir: string = DEFAULT_RESULTS_DIR): LoadedCaseResult[] {
  if (!existsSync(dir)) return [];
  const loaded = readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !RUN_INFO_FILE_PATTERN.test(name) && !RUN_PLAN_FILE_PATTERN.test(name))
    .map((name) => ({ file: join(dir, name), result: readCaseResultFile(join(dir, name)) }));
  return loaded.sort((a, b) => (a.result.id < b.result.id ? -1 : a.result.id > b.result.id ? 1 : 0));
}

/**
 * Records who was tested with which profile and capability statement: `run-info-<role>.json` when
 * `info.sut.role` is set (one per SUT of a run), else `run-info.json`. Returns the path.
 */
export function writeRunInfo(info: RunInfo, dir: string = defaultResultsDir()): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, info.sut.role ? `run-info-${info.sut.role}.json` : RUN_INFO_FILE);
  writeAtomically(path, `${JSON.stringify(info, replacer, 2)}\n`);
  return path;
}

/** Every run info of a results directory, by file name (run-info-bmsc, run-info-ue, run-info). */
export function readRunInfos(dir: string = DEFAULT_RESULTS_DIR): RunInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => RUN_INFO_FILE_PATTERN.test(name)).sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8'), reviver) as RunInfo);
}

/** The run info of a results directory when there is exactly one (see `readRunInfos` for runs of both roles). */
export function readRunInfo(dir: string = DEFAULT_RESULTS_DIR): RunInfo | undefined {
  const infos = readRunInfos(dir);
  return infos.length === 1 ? infos[0] : undefined;
}

/** The run info of a SUT as lib/suite describes it (SutProvider: name, role, embedded, profile, capabilities). */
export function runInfoFromSut(sut: { name: string; role: SutRole; embedded: boolean; profile?: unknown; capabilities?: unknown }, extra: Partial<RunInfo> = {}): RunInfo {
  return {
    sut: { name: sut.name, role: sut.role, embedded: sut.embedded },
    ...(sut.profile !== undefined ? { profile: sut.profile as Record<string, unknown> } : {}),
    ...(sut.capabilities !== undefined ? { capabilities: sut.capabilities as Record<string, unknown> } : {}),
    ...extra,
  };
}
