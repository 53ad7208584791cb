// Self-validation: the fault matrix (DESIGN.md "Every check can fail").
//
// The suites run against the fault-free reference (every applicable case must PASS), then against the
// reference with each injected fault in turn. For each fault the set of cases that do not PASS must equal
// the set declared in fixtures/fault-matrix.expected.yaml: at least one case catches every fault (a fault
// nobody catches is a missing test), and no other case changes its verdict (a case that fails without
// reason is a false alarm). The matrix (fault x case -> verdict) is written as JSON and Markdown.
//
// This module is independent of lib/reference: the caller passes the fault table and a provider factory
// (fixtures/embedded.ts), so the judge never links the code under check.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCaseJudged } from './engine.ts';
import { FaultMatrixError } from './errors.ts';
import type { CaseDef } from './loader.ts';
import type { SutProvider } from './sut.ts';
import { headline, type CaseResult, type Role, type Verdict } from './verdict.ts';

export interface FaultInfo { name: string; role: Role; description: string; violates: string; procedure: string }

/**
 * fixtures/fault-matrix.expected.yaml: per role, per fault, the case ids that must FAIL; and, under
 * `long-lived`, per role and fault, what a faulty SUT that lives through the whole row may do to later cases.
 */
export type ExpectedCatches = Partial<Record<Role, Record<string, string[]>>> & { 'long-lived'?: Partial<Record<Role, Record<string, LongLivedAllowance>>> };

/**
 * A fault whose effect the long-lived SUT carries into later cases (a counter it reused stays behind every
 * later one; a key ID it named wrongly is the MSK the tester then asks for). Which later cases show it
 * depends on the order, so it is bounded by check: any case may also be FAIL or INCONC, but only by these
 * checks, and an expected catch may be INCONC by them. The fault must still be caught by some case.
 */
export interface LongLivedAllowance { why: string; checks: string[] }

export function loadExpectedCatches(file: string): ExpectedCatches {
  const data = parse(readFileSync(file, 'utf8')) as unknown;
  if (typeof data !== 'object' || data === null) throw new FaultMatrixError(`${file}: expected a mapping of role -> fault -> [case ids]`);
  for (const [role, faults] of Object.entries(data as Record<string, unknown>)) {
    if (role === 'long-lived') {
      for (const [r, byFault] of Object.entries((faults ?? {}) as Record<string, unknown>)) {
        if (r !== 'bmsc' && r !== 'ue') throw new FaultMatrixError(`${file}: long-lived: unknown role '${r}'`);
        for (const [fault, a] of Object.entries((byFault ?? {}) as Record<string, LongLivedAllowance>)) {
          if (typeof a?.why !== 'string' || !Array.isArray(a.checks) || a.checks.some((c) => typeof c !== 'string')) {
            throw new FaultMatrixError(`${file}: long-lived.${r}.${fault} needs 'why' (text) and 'checks' (a list of check names)`);
          }
        }
      }
      continue;
    }
    if (role !== 'bmsc' && role !== 'ue') throw new FaultMatrixError(`${file}: unknown role '${role}'`);
    for (const [fault, ids] of Object.entries((faults ?? {}) as Record<string, unknown>)) {
      if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) throw new FaultMatrixError(`${file}: ${role}.${fault} must be a list of case ids`);
    }
  }
  return data as ExpectedCatches;
}

export interface FaultMatrixInput {
  role: Role;
  cases: CaseDef[];
  faults: readonly FaultInfo[];
  /** A provider of the role's reference with the given faults injected (fresh mode: a new reference per case). */
  provider: (faults: string[]) => SutProvider;
  /**
   * Long-lived mode: one instance of the reference per row (fault-free, or one fault), started once, reached
   * only through its SUT profile, meeting every case one after the other, as a vendor's SUT does. The
   * order is shuffled with `seed` when one is given (printed in the matrix, to replay a failing order).
   */
  longLived?: { start: (faults: string[]) => Promise<{ sut: SutProvider; stop: () => Promise<void> }>; seed?: number };
  expected: ExpectedCatches;
  /** Cases run at once (default 4): enough to be fast (runs mostly wait on timers), few enough that timers stay honest. */
  concurrency?: number;
  /** Directory for per-run pcaps (default: none kept beyond the OS temp files). */
  pcapDir?: string;
  onResult?: (fault: string | null, result: CaseResult) => void;
}

export interface FaultMatrixCell { verdict: Verdict; reason?: string; /** Checks of the findings that are not PASS. */ checks?: string[] }

export interface FaultMatrix {
  role: Role;
  /** 'fresh': a new reference per case; 'long-lived': one reference per row for all its cases (FaultMatrixInput.longLived). */
  mode: 'fresh' | 'long-lived';
  /** Long-lived mode: the seed of the shuffled case order (absent: file order). */
  seed?: number;
  generatedAt: string;
  durationMs: number;
  /** Runs repeated because the tester's starvation left the case INCONC (engine.ts runCaseJudged, twice at most per case). */
  starvedReruns: number;
  cases: string[];
  faults: FaultInfo[];
  /** Verdicts against the fault-free reference. */
  baseline: Record<string, FaultMatrixCell>;
  /** fault -> case -> verdict. */
  cells: Record<string, Record<string, FaultMatrixCell>>;
  /** fault -> expected catches (from the expectations file). */
  expected: Record<string, string[]>;
  /** Long-lived mode: what a fault may leave behind in later cases (fixtures/fault-matrix.expected.yaml `long-lived`). */
  allowances?: Record<string, LongLivedAllowance>;
  /** Everything that is not as it must be; empty = the matrix holds. */
  problems: string[];
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed from its seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out;
}

async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  });
  await Promise.all(runners);
  return out;
}

const cell = (r: CaseResult): FaultMatrixCell => {
  const h = headline(r);
  const checks = [...new Set(r.findings.filter((f) => f.verdict !== 'PASS' && f.verdict !== 'NOT-APPLICABLE').map((f) => f.check))];
  return { verdict: r.verdict, ...(r.verdict !== 'PASS' && h ? { reason: `${h.check}: ${h.message}` } : {}), ...(checks.length ? { checks } : {}) };
};

export async function runFaultMatrix(input: FaultMatrixInput): Promise<FaultMatrix> {
  const t0 = performance.now();
  const concurrency = input.concurrency ?? 4;
  const faults = input.faults.filter((f) => f.role === input.role);
  const runs: { fault: string | null; c: CaseDef }[] = [
    ...input.cases.map((c) => ({ fault: null, c })),
    ...faults.flatMap((f) => input.cases.map((c) => ({ fault: f.name, c }))),
  ];
  const providers = new Map<string, SutProvider>();
  const providerFor = (fault: string | null) => {
    const key = fault ?? '';
    let p = providers.get(key);
    if (!p) { p = input.provider(fault ? [fault] : []); providers.set(key, p); }
    return p;
  };
  let starvedReruns = 0;
  // A case left INCONC by the tester's own starvation (a loaded host) judged nothing: run it again, a
  // bounded number of times, rather than count the host's load as a verdict of the reference.
  const judge = async (fault: string | null, c: CaseDef, sut: SutProvider) => {
    const pcapPath = input.pcapDir ? join(input.pcapDir, fault ?? 'baseline', `${c.id.replace(/\//g, '_')}.pcap`) : undefined;
    const judged = await runCaseJudged(c, { sut, ...(pcapPath ? { pcapPath } : {}) });
    starvedReruns += judged.starvedReruns;
    const { starvedReruns: _reruns, ...result } = judged;
    input.onResult?.(fault, result);
    return { fault, result };
  };
  const longLived = input.longLived;
  const results = longLived
    ? (await pool([null, ...faults.map((f) => f.name)], concurrency, async (fault) => {
      const order = longLived.seed === undefined ? input.cases : shuffled(input.cases, longLived.seed);
      const { sut, stop } = await longLived.start(fault ? [fault] : []);
      const out: { fault: string | null; result: CaseResult }[] = [];
      try {
        for (const c of order) out.push(await judge(fault, c, sut));
      } finally {
        await stop();
      }
      return out;
    })).flat()
    : await pool(runs, concurrency, ({ fault, c }) => judge(fault, c, providerFor(fault)));
  const baseline: Record<string, FaultMatrixCell> = {};
  const cells: Record<string, Record<string, FaultMatrixCell>> = Object.fromEntries(faults.map((f) => [f.name, {}]));
  for (const { fault, result } of results) {
    if (fault === null) baseline[result.id] = cell(result);
    else cells[fault]![result.id] = cell(result);
  }
  const expectedAll: Record<string, string[]> = input.expected[input.role] ?? {};
  const expected: Record<string, string[]> = {};
  const problems: string[] = [];
  const ids = input.cases.map((c) => c.id);
  for (const id of ids) {
    const b = baseline[id]!;
    if (b.verdict !== 'PASS' && b.verdict !== 'NOT-APPLICABLE') problems.push(`baseline: ${id} is ${b.verdict} against the fault-free reference (${b.reason ?? ''})`);
  }
  for (const name of [...Object.keys(expectedAll), ...Object.keys(input.expected['long-lived']?.[input.role] ?? {})]) {
    if (!faults.some((f) => f.name === name)) problems.push(`expectations name '${name}', which is not a ${input.role} fault of the reference`);
  }
  for (const f of faults) {
    const want = [...(expectedAll[f.name] ?? [])].sort();
    expected[f.name] = want;
    for (const id of want) if (!ids.includes(id)) problems.push(`${f.name}: expected catch ${id} is not a case of the ${input.role} suites`);
    const row = cells[f.name]!;
    // Long-lived: what this fault may leave behind in later cases, bounded by check (LongLivedAllowance).
    const allowance = longLived ? input.expected['long-lived']?.[input.role]?.[f.name] : undefined;
    const allowed = (c: FaultMatrixCell) => !!allowance && (c.verdict === 'FAIL' || c.verdict === 'INCONC') && (c.checks ?? []).every((k) => allowance.checks.includes(k));
    const failing = ids.filter((id) => row[id]!.verdict !== 'PASS' && row[id]!.verdict !== 'NOT-APPLICABLE');
    if (!ids.some((id) => row[id]!.verdict === 'FAIL')) problems.push(`${f.name}: no case FAILs — a missing test (${f.description}; violates ${f.violates})`);
    for (const id of failing) {
      if (!want.includes(id)) { if (!allowed(row[id]!)) problems.push(`${f.name}: ${id} is ${row[id]!.verdict} but is not an expected catch (${row[id]!.reason ?? ''})`); }
      else if (row[id]!.verdict !== 'FAIL' && !allowed(row[id]!)) problems.push(`${f.name}: ${id} is ${row[id]!.verdict}, expected FAIL (${row[id]!.reason ?? ''})`);
    }
    for (const id of want) {
      if (ids.includes(id) && row[id]!.verdict !== 'FAIL' && !allowed(row[id]!)) problems.push(`${f.name}: expected catch ${id} is ${row[id]!.verdict}`);
    }
  }
  return {
    role: input.role, mode: longLived ? 'long-lived' : 'fresh', ...(longLived?.seed !== undefined ? { seed: longLived.seed } : {}), generatedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - t0), starvedReruns,
    cases: ids, faults: faults.map((f) => ({ name: f.name, role: f.role, description: f.description, violates: f.violates, procedure: f.procedure })),
    baseline, cells, expected, problems,
    ...(longLived && input.expected['long-lived']?.[input.role] ? { allowances: input.expected['long-lived'][input.role] } : {}),
  };
}

const SYMBOL: Record<Verdict, string> = { 'PASS': '·', 'FAIL': 'F', 'INCONC': 'I', 'ERROR': 'E', 'NOT-APPLICABLE': '-' };

/** The matrix as Markdown: one row per fault, one column per case, plus the problems. */
export function faultMatrixMarkdown(m: FaultMatrix): string {
  const short = (id: string) => id.replace(/^(bmsc|ue)\//, '');
  const mark = (fault: string, id: string) => {
    const v = m.cells[fault]![id]!.verdict;
    const expected = m.expected[fault]!.includes(id);
    const s = SYMBOL[v];
    // Bold: a verdict the expectations do not foresee.
    return (v === 'FAIL') !== expected || (v !== 'FAIL' && v !== 'PASS' && v !== 'NOT-APPLICABLE') ? `**${s}**` : s;
  };
  const lines = [
    `# Fault matrix — ${m.role === 'bmsc' ? 'BM-SC' : 'UE'} under test, ${m.mode === 'fresh' ? 'a fresh reference per case' : `one long-lived reference per row${m.seed !== undefined ? `, cases shuffled (MBMS_SHUFFLE_SEED=${m.seed})` : ''}`}`,
    '',
    `Generated ${m.generatedAt} in ${(m.durationMs / 1000).toFixed(1)} s: ${m.cases.length} cases × (1 fault-free + ${m.faults.length} faults)${m.starvedReruns ? `; ${m.starvedReruns} runs repeated because the tester was starved (a loaded host)` : ''}.`,
    `Legend: · PASS, F FAIL, I INCONC, E ERROR, - NOT-APPLICABLE; **bold** = not as expected (fixtures/fault-matrix.expected.yaml).`,
    '',
    m.problems.length === 0 ? '**Status: the matrix holds** — the fault-free reference passes every applicable case, every fault is caught, and only by the expected cases.' : `**Status: ${m.problems.length} problem(s)**`,
    '',
    `| fault | caught by | ${m.cases.map(short).join(' | ')} |`,
    `|---|---|${m.cases.map(() => ':-:').join('|')}|`,
    `| *(fault-free)* | | ${m.cases.map((id) => (m.baseline[id]!.verdict === 'PASS' || m.baseline[id]!.verdict === 'NOT-APPLICABLE' ? SYMBOL[m.baseline[id]!.verdict] : `**${SYMBOL[m.baseline[id]!.verdict]}**`)).join(' | ')} |`,
    ...m.faults.map((f) => {
      const caught = m.cases.filter((id) => m.cells[f.name]![id]!.verdict === 'FAIL').length;
      return `| \`${f.name}\` | ${caught} | ${m.cases.map((id) => mark(f.name, id)).join(' | ')} |`;
    }),
    '',
    '## Faults',
    '',
    '| fault | procedure | violates | what the reference does |',
    '|---|---|---|---|',
    ...m.faults.map((f) => `| \`${f.name}\` | ${f.procedure} | ${f.violates} | ${f.description} |`),
    '',
  ];
  if (m.allowances && Object.keys(m.allowances).length) {
    lines.push('## What a long-lived faulty SUT carries into later cases', '', 'Bold cells of these faults are allowed when they fail only by the checks listed.', '',
      '| fault | checks | why |', '|---|---|---|', ...Object.entries(m.allowances).map(([f, a]) => `| \`${f}\` | ${a.checks.join(', ')} | ${a.why.replace(/\s+/g, ' ')} |`), '');
  }
  if (m.problems.length) lines.push('## Problems', '', ...m.problems.map((p) => `- ${p}`), '');
  return `${lines.join('\n')}\n`;
}

/** Writes reports/fault-matrix-<role>.json and .md; returns their paths. */
export function writeFaultMatrix(m: FaultMatrix, dir: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const name = `fault-matrix-${m.role}${m.mode === 'long-lived' ? '-long-lived' : ''}`;
  const json = join(dir, `${name}.json`);
  const markdown = join(dir, `${name}.md`);
  writeFileSync(json, `${JSON.stringify(m, null, 2)}\n`);
  writeFileSync(markdown, faultMatrixMarkdown(m));
  return { json, markdown };
}

/** The expectations a matrix run observed, as YAML-ready data (to review when cases or faults change). */
export function observedCatches(m: FaultMatrix): Record<string, string[]> {
  return Object.fromEntries(m.faults.map((f) => [f.name, m.cases.filter((id) => m.cells[f.name]![id]!.verdict === 'FAIL')]));
}
