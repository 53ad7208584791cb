import { test, expect } from '@playwright/test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { mergeShards, resolveShardSource } from './merge.ts';
import { readCaseResults, writeCaseResult } from './results.ts';
import { sampleCase } from './test-cases.ts';

let dir: string;
test.beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'report-merge-')); });
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an Allure result the way allure-playwright does (uuid-result.json + uuid-attachment.ext). */
function allureResult(allureDir: string, caseId: string, stop: number, attachmentText: string): string {
  mkdirSync(allureDir, { recursive: true });
  const uuid = randomUUID();
  const attachment = `${randomUUID()}-attachment.txt`;
  const stepAttachment = `${randomUUID()}-attachment.svg`;
  writeFileSync(join(allureDir, attachment), attachmentText);
  writeFileSync(join(allureDir, stepAttachment), '<svg/>');
  writeFileSync(join(allureDir, `${uuid}-result.json`), JSON.stringify({
    uuid, name: caseId, historyId: `h-${caseId}`, status: 'passed', start: stop - 10, stop,
    labels: [{ name: 'caseId', value: caseId }], attachments: [{ name: 'a', source: attachment, type: 'text/plain' }],
    steps: [{ name: 's', steps: [], attachments: [{ name: 'ladder', source: stepAttachment, type: 'image/svg+xml' }] }],
  }));
  writeFileSync(join(allureDir, `${randomUUID()}-container.json`), JSON.stringify({ uuid: randomUUID(), children: [uuid], befores: [], afters: [] }));
  return uuid;
}

function shard(name: string, cases: { id: string; startedAt: number }[]): string {
  const root = join(dir, name);
  for (const c of cases) {
    const pcap = join(root, `${c.id.replace(/\//g, '_')}-orig.pcap`);
    mkdirSync(root, { recursive: true });
    writeFileSync(pcap, `pcap of ${c.id} from ${name}`);
    writeCaseResult(sampleCase(c.id, 'PASS', { startedAt: c.startedAt, pcapPath: pcap }), join(root, 'results'));
    allureResult(join(root, 'allure-results'), c.id, c.startedAt + 100, `attachment of ${c.id} from ${name}`);
  }
  return root;
}

test('two shards merge into one set with every case once; a case run twice keeps its latest run', () => {
  const s1 = shard('shard-1', [{ id: 'bmsc/6.3.1/01', startedAt: 1000 }, { id: 'bmsc/6.3.1/02', startedAt: 1000 }]);
  const s2 = shard('shard-2', [{ id: 'ue/6.3.3/01', startedAt: 2000 }, { id: 'bmsc/6.3.1/02', startedAt: 5000 }]);
  const dest = { resultsDir: join(dir, 'merged', 'results'), allureResultsDir: join(dir, 'merged', 'allure-results') };
  const summary = mergeShards([s1, s2], dest);
  expect(summary.cases).toBe(3);
  expect(summary.allureResults).toBe(3);
  expect(summary.duplicates).toEqual(['bmsc/6.3.1/02']);

  const merged = readCaseResults(dest.resultsDir).map((l) => l.result);
  expect(merged.map((c) => c.id)).toEqual(['bmsc/6.3.1/01', 'bmsc/6.3.1/02', 'ue/6.3.3/01']);
  const rerun = merged.find((c) => c.id === 'bmsc/6.3.1/02')!;
  expect(rerun.startedAt).toBe(5000);
  expect(readFileSync(rerun.pcapPath!, 'utf8')).toBe('pcap of bmsc/6.3.1/02 from shard-2');

  const files = readdirSync(dest.allureResultsDir);
  const results = files.filter((f) => f.endsWith('-result.json')).map((f) => JSON.parse(readFileSync(join(dest.allureResultsDir, f), 'utf8')));
  expect(results.map((r) => r.labels[0].value).sort()).toEqual(['bmsc/6.3.1/01', 'bmsc/6.3.1/02', 'ue/6.3.3/01']);
  const kept = results.find((r) => r.labels[0].value === 'bmsc/6.3.1/02');
  expect(readFileSync(join(dest.allureResultsDir, kept.attachments[0].source), 'utf8')).toBe('attachment of bmsc/6.3.1/02 from shard-2');
  expect(existsSync(join(dest.allureResultsDir, kept.steps[0].attachments[0].source))).toBe(true);
  // only the attachments of kept results: 3 results x 2 attachments
  expect(files.filter((f) => f.includes('-attachment.'))).toHaveLength(6);
  // containers only for kept results
  const containers = files.filter((f) => f.endsWith('-container.json')).map((f) => JSON.parse(readFileSync(join(dest.allureResultsDir, f), 'utf8')));
  expect(containers).toHaveLength(3);
  expect(containers.flatMap((c) => c.children).sort()).toEqual(results.map((r) => r.uuid).sort());
});

test('source directories are recognised: shard reports dir, bare allure-results, bare results', () => {
  const s1 = shard('s', [{ id: 'bmsc/6.3.1/01', startedAt: 1 }]);
  expect(resolveShardSource(s1)).toEqual({ resultsDir: join(s1, 'results'), allureResultsDir: join(s1, 'allure-results') });
  expect(resolveShardSource(join(s1, 'allure-results'))).toEqual({ allureResultsDir: join(s1, 'allure-results') });
  expect(resolveShardSource(join(s1, 'results'))).toEqual({ resultsDir: join(s1, 'results') });
});

test('merging into one of the sources is refused before anything is deleted', () => {
  const s1 = shard('s1', [{ id: 'bmsc/6.3.1/01', startedAt: 1 }]);
  const s2 = shard('s2', [{ id: 'bmsc/6.3.1/02', startedAt: 1 }]);
  expect(() => mergeShards([s1, s2], { resultsDir: join(s1, 'results'), allureResultsDir: join(dir, 'x') })).toThrow(expect.objectContaining({ code: 'ERR_REPORT_MERGE_TARGET' }));
  expect(readCaseResults(join(s1, 'results'))).toHaveLength(1);
});

test('conformance tests that failed without a verdict are found; library tests and judged cases are not', async () => {
  const { unjudgedFailures, isConformanceResult } = await import('./merge.ts');
  const allureDir = join(dir, 'allure');
  mkdirSync(allureDir, { recursive: true });
  const write = (name: string, status: string, labels: { name: string; value: string }[]): void =>
    writeFileSync(join(allureDir, `${randomUUID()}-result.json`), JSON.stringify({ uuid: randomUUID(), name, fullName: name, status, labels }));
  write('bmsc/6.3.1/01 crashed', 'broken', [{ name: 'parentSuite', value: 'bmsc' }]);
  write('ue/6.3.1/02 timed out', 'failed', [{ name: 'parentSuite', value: 'ue' }]);
  write('bmsc/6.3.1/03 judged', 'failed', [{ name: 'parentSuite', value: 'BM-SC under test' }, { name: 'caseId', value: 'bmsc/6.3.1/03' }, { name: 'verdict', value: 'FAIL' }]);
  write('bmsc/6.3.1/04 skipped', 'skipped', [{ name: 'parentSuite', value: 'bmsc' }]);
  write('codec round trip', 'failed', [{ name: 'parentSuite', value: 'unit' }]);
  expect(unjudgedFailures(allureDir)).toEqual(['bmsc/6.3.1/01 crashed', 'ue/6.3.1/02 timed out']);
  expect(isConformanceResult({ uuid: 'x', labels: [{ name: 'parentSuite', value: 'unit' }] })).toBe(false);
  expect(isConformanceResult({ uuid: 'x', labels: [{ name: 'caseId', value: 'a' }] })).toBe(true);
});
