// Load outputs: summaries of processes run side by side merge exactly (histograms added); the HTML report
// draws its plots and escapes what a SUT sent; the Allure result carries the verdict and the summary.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeLoadSummaries, MergeError } from './merge.ts';
import { loadCsv, loadReportHtml, loadVerdict, writeAllureLoadResult, type AnySummary } from './report.ts';
import { encodeHistogram, histogram, recordMs } from './stats.ts';
import type { LoadSummary } from './run.ts';

/** A request-run summary whose latencies are `ms` (one procedure each). */
function summary(ms: number[], extra: Partial<LoadSummary> = {}): LoadSummary {
  const h = histogram();
  for (const v of ms) recordMs(h, v);
  const encoded = encodeHistogram(h);
  const empty = encodeHistogram(histogram());
  const p = { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 };
  return {
    scenario: 'msk-request', ues: 10, mode: 'open-loop', rate: ms.length, durationS: 1, offered: ms.length, completed: ms.length, completedPerSecond: ms.length,
    latencyMs: p, phasesMs: { challenge: p, ok: p, delivery: p }, errors: {}, conformanceFailures: {}, evidence: [], lostAcks: 0, retransmissions: 0, abandonedDeliveries: 0, noIdleUe: 0,
    schedulerLagMs: p, testerStarved: false, seconds: [{ second: 1, offered: ms.length, completed: ms.length, errors: 0, failures: 0, p50Ms: 1, p99Ms: 2 }],
    histograms: { latency: encoded, challenge: empty, ok: empty, delivery: empty, schedulerLag: empty }, ...extra,
  };
}

test('merging two processes: counts and throughput add up, percentiles come from the summed histograms', () => {
  const fast = summary(Array.from({ length: 99 }, () => 1));
  const slow = summary([1000], { conformanceFailures: { 'mikey.mac': 2 }, evidence: [{ check: 'mikey.mac', ue: 'x', message: 'm' }] });
  const m = mergeLoadSummaries([fast, slow]);
  expect(m.completed).toBe(100);
  expect(m.completedPerSecond).toBe(100);
  expect(m.latencyMs.count).toBe(100);
  expect(m.latencyMs.p50).toBeCloseTo(1, 1);
  expect(m.latencyMs.max).toBeGreaterThanOrEqual(999); // the slow process's procedure is in the merged tail
  expect(m.conformanceFailures).toEqual({ 'mikey.mac': 2 });
  expect(m.seconds[0]).toMatchObject({ offered: 100, completed: 100, p99Ms: 2 });
  expect(m.merged.processes).toBe(2);
  expect(() => mergeLoadSummaries([fast, { ...slow, mode: 'closed-loop' }])).toThrow(MergeError);
});

test('the HTML report: plots drawn, the verdict shown, and what a SUT sent escaped', () => {
  const s: AnySummary = { ...summary([1, 2, 3, 50]), conformanceFailures: { 'mikey.mac': 1 }, evidence: [{ check: 'mikey.mac', ue: '<script>alert(1)</script>', message: 'bad & worse' }], sut: { name: 'reference BM-SC (embedded)', faults: [] } };
  const html = loadReportHtml(s);
  expect(html).toContain('failed');
  expect((html.match(/<svg /g) ?? []).length).toBe(4);
  expect(html).not.toContain('<script>');
  expect(html).toContain('&lt;script&gt;');
  expect(loadVerdict(s)).toBe('failed');
  expect(loadCsv(s).split('\n')[0]).toBe('second,offered,completed,errors,failures,p50_ms,p99_ms');
});

test('the Allure result: status from the verdict, figures as parameters, summary and report attached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'load-allure-'));
  const s: AnySummary = { ...summary([1, 2]), sut: { name: 'x', faults: [] } };
  const path = writeAllureLoadResult(s, dir, loadReportHtml(s));
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  expect(doc).toMatchObject({ status: 'passed', stage: 'finished', name: 'load: msk-request' });
  expect(doc.parameters.map((p: { name: string }) => p.name)).toContain('p99 (ms)');
  expect(doc.attachments.map((a: { type: string }) => a.type)).toEqual(['application/json', 'text/html', 'text/csv']);
  for (const a of doc.attachments) expect(readdirSync(dir)).toContain(a.source);
  expect(JSON.parse(readFileSync(join(dir, doc.attachments[0].source), 'utf8')).completed).toBe(2);
});

test('docs/load.md names every scenario of the registry and every option of the command', async () => {
  const { LOAD_SCENARIOS } = await import('./run.ts');
  const docs = readFileSync('docs/load.md', 'utf8');
  for (const name of Object.keys(LOAD_SCENARIOS)) expect(docs, name).toContain(`| \`${name}\``);
  const usage = readFileSync('lib/cli/load.ts', 'utf8');
  const parsed = [...usage.matchAll(/'([a-z-]+)': \{ type: '(?:string|boolean)'/g)].map((m) => m[1]!).filter((o) => o !== 'help');
  expect(parsed.length).toBeGreaterThan(15);
  for (const option of parsed) expect(docs, option).toContain(`\`--${option}`);
});

test('the verdict: time-outs while the tester ran late are inconclusive, a conformance failure is failed whatever the tester did', () => {
  const sut = { name: 'x', faults: [] };
  const timeouts: AnySummary = { ...summary([1]), errors: { 'http-timeout': 3 }, sut };
  expect(loadVerdict(timeouts)).toBe('failed'); // the tester kept up: the time-outs are the BM-SC's
  const starved: AnySummary = { ...timeouts, testerStarved: true };
  expect(loadVerdict(starved)).toBe('inconclusive');
  expect(loadVerdict({ ...starved, conformanceFailures: { 'mikey.mac': 1 } })).toBe('failed');
  expect(loadVerdict({ ...summary([1]), testerStarved: true, sut })).toBe('passed');
  const dir = mkdtempSync(join(tmpdir(), 'load-allure-'));
  const doc = JSON.parse(readFileSync(writeAllureLoadResult(starved, dir, loadReportHtml(starved)), 'utf8'));
  expect(doc.status).toBe('unknown'); // Allure's status of an INCONC case
  expect(doc.statusDetails.message).toContain('the tester ran late');
  expect(loadReportHtml(starved)).toContain('class="inconclusive"');
});
