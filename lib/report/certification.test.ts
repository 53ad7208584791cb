import { test, expect } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { buildCertification, writeCertification } from './certification.ts';
import { readCaseResults, writeCaseResult, writeRunInfo, readRunInfo, readRunInfos } from './results.ts';
import { sampleCase } from './test-cases.ts';
import { REDACTED } from './redact.ts';

let dir: string;
test.beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'report-cert-')); });
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

test('certification summary: every case with verdict and clause, pcap and summary hashes recomputable from the files', () => {
  const results = join(dir, 'results');
  const pcapA = join(dir, 'a.pcap');
  const pcapB = join(dir, 'b.pcap');
  writeFileSync(pcapA, randomBytes(300));
  writeFileSync(pcapB, randomBytes(77));
  writeCaseResult(sampleCase('bmsc/6.3.1/01', 'PASS', { pcapPath: pcapA }), results);
  writeCaseResult(sampleCase('bmsc/6.3.2.1/01', 'FAIL', { clause: '6.3.2.1', pcapPath: pcapB }), results);
  writeCaseResult(sampleCase('ue/6.3.3/01', 'NOT-APPLICABLE', { role: 'ue', clause: '6.3.3', sut: { name: 'ref-ue', role: 'ue', embedded: true } }), results);
  writeRunInfo({ sut: { name: 'ACME BM-SC', vendor: 'ACME', version: '4.2', role: 'bmsc' }, profileName: 'acme.yaml', profile: { http: { realm: 'r' }, credentials: { ksNaf: 'c2VjcmV0' } }, capabilities: { streaming: false } }, results);

  const cases = readCaseResults(results).map((l) => l.result);
  const cert = buildCertification(cases, readRunInfo(results), { gate: 'no-fail', generatedAt: new Date('2026-01-01T00:00:00Z') });
  const out = join(dir, 'reports');
  const written = writeCertification(cert, out);

  const json = JSON.parse(readFileSync(written.jsonPath, 'utf8'));
  expect(json.format).toBe('mbms-conform-certification/1');
  expect(json.sut).toMatchObject({ name: 'ACME BM-SC', vendor: 'ACME', version: '4.2' });
  expect(json.capabilities).toEqual({ streaming: false });
  expect(json.profile.credentials.ksNaf).toBe(REDACTED);
  expect(json.cases.map((c: { id: string; verdict: string; clause: string }) => [c.id, c.clause, c.verdict])).toEqual([
    ['bmsc/6.3.1/01', '6.3.1', 'PASS'], ['bmsc/6.3.2.1/01', '6.3.2.1', 'FAIL'], ['ue/6.3.3/01', '6.3.3', 'NOT-APPLICABLE'],
  ]);
  // pcap hashes: recomputed here from the original files (the results directory holds copies)
  expect(json.cases[0].pcap.sha256).toBe(sha256(readFileSync(pcapA)));
  expect(json.cases[0].pcap.bytes).toBe(300);
  expect(json.cases[1].pcap.sha256).toBe(sha256(readFileSync(pcapB)));
  expect(json.cases[2].pcap).toBeUndefined();
  expect(json.totals).toEqual({ PASS: 1, FAIL: 1, INCONC: 0, ERROR: 0, 'NOT-APPLICABLE': 1, 'NOT-RUN': 0 });
  expect(json.interrupted).toBe(false);
  expect(json.gate).toMatchObject({ gate: 'no-fail', passed: false });

  // summary hash: of the JSON file's bytes, in sha256sum format, and quoted in the HTML
  const jsonHash = sha256(readFileSync(written.jsonPath));
  expect(written.sha256).toBe(jsonHash);
  expect(readFileSync(written.sha256Path, 'utf8')).toBe(`${jsonHash}  certification.json\n`);
  const html = readFileSync(written.htmlPath, 'utf8');
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html).toContain(`<code class="hash" id="summary-sha256">${jsonHash}</code>`);
  expect(html).toContain(sha256(readFileSync(pcapB)));
  expect(html).not.toContain('c2VjcmV0');
  const rows = html.match(/<tr data-case-id="[^"]+"/g)!;
  expect(rows).toHaveLength(3);
});

test('secrets reach the certification only when the profile allows them', () => {
  const cert = buildCertification([sampleCase('bmsc/6.3.1/01', 'PASS')], { sut: { name: 'x' }, profile: { ksNaf: 'c2VjcmV0' }, allowSecrets: true });
  expect((cert.profile as { ksNaf: string }).ksNaf).toBe('c2VjcmV0');
});

test('the HTML is well-formed and escapes SUT-provided text', () => {
  const cert = buildCertification([sampleCase('bmsc/6.3.1/01', 'FAIL', { title: '<script>x</script>' })], { sut: { name: 'a"<b>' } });
  const written = writeCertification(cert, dir);
  const html = readFileSync(written.htmlPath, 'utf8');
  expect(html).not.toContain('<script>');
  expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
  // parses as XML once the void elements are closed (meta, br): no stray markup
  const xml = html.replace('<!DOCTYPE html>', '').replace(/<(meta|br)([^>]*)>/g, '<$1$2/>');
  expect(() => new XMLParser({ ignoreAttributes: false }).parse(xml, true)).not.toThrow();
});

test('a run of both roles certifies each SUT with its own capability statement; environment keys carry the role', async () => {
  const results = join(dir, 'results');
  writeRunInfo({ sut: { name: 'ACME BM-SC', role: 'bmsc' }, capabilities: { streaming: true } }, results);
  writeRunInfo({ sut: { name: 'ACME UE', role: 'ue' }, capabilities: { streaming: false, gbaU: true } }, results);
  writeCaseResult(sampleCase('bmsc/6.3.1/01', 'PASS'), results);
  const runs = readRunInfos(results);
  expect(runs.map((r) => r.sut.name)).toEqual(['ACME BM-SC', 'ACME UE']);
  expect(readRunInfo(results)).toBeUndefined();
  expect(readCaseResults(results)).toHaveLength(1);
  const cert = buildCertification(readCaseResults(results).map((l) => l.result), runs);
  expect(cert.runs.map((r) => [r.sut.name, r.capabilities])).toEqual([['ACME BM-SC', { streaming: true }], ['ACME UE', { streaming: false, gbaU: true }]]);
  expect(cert.sut).toBeUndefined();
  const html = readFileSync(writeCertification(cert, dir).htmlPath, 'utf8');
  expect(html).toContain('BM-SC under test: ACME BM-SC');
  expect(html).toContain('UE under test: ACME UE');
  const { environmentInfo } = await import('./allure.ts');
  const env = environmentInfo(runs, '9.9.9');
  expect(env).toMatchObject({ 'suite.version': '9.9.9', 'bmsc.sut.name': 'ACME BM-SC', 'ue.sut.name': 'ACME UE', 'bmsc.capability.streaming': 'true', 'ue.capability.gbaU': 'true' });
  expect(environmentInfo(runs[0]!)).toMatchObject({ 'sut.name': 'ACME BM-SC', 'capability.streaming': 'true' });
});
