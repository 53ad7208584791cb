import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseResultFileName, parseCaseResult, readCaseResults, serializeCaseResult, writeCaseResult } from './results.ts';
import { sampleCase } from './test-cases.ts';
import { render, el } from './markup.ts';
import { toReportJson, REDACTED } from './redact.ts';
import { evaluateGate } from './gate.ts';
import { formatClauseSummary } from './summary.ts';
import { propertiesText } from './generate.ts';

let dir: string;
test.beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'report-results-')); });
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a CaseResult survives the JSON round trip with its Buffers and bigints, pcap copied beside it', () => {
  const pcap = join(dir, 'orig.pcap');
  writeFileSync(pcap, Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));
  const original = sampleCase('bmsc/6.3.1/07', 'FAIL', { pcapPath: pcap });
  const path = writeCaseResult(original, join(dir, 'results'));
  expect(path.endsWith(caseResultFileName('bmsc/6.3.1/07'))).toBe(true);
  expect(caseResultFileName('bmsc/6.3.1/07')).toBe('bmsc__6.3.1__07.json');
  const [loaded] = readCaseResults(join(dir, 'results'));
  const back = loaded!.result;
  expect(back.trace[0]!.kind).toBe('http-request');
  const mikey = back.trace[3] as Extract<typeof back.trace[number], { kind: 'mikey' }>;
  expect(Buffer.isBuffer(mikey.bytes)).toBe(true);
  expect(mikey.bytes.toString('hex')).toBe('0100');
  expect((mikey.message as { payloads: { tsValue?: unknown }[] }).payloads[1]!.tsValue).toBe(7n);
  expect(back.pcapPath).toBe(join(dir, 'results', 'bmsc__6.3.1__07.pcap'));
  expect(readFileSync(back.pcapPath!)).toEqual(readFileSync(pcap));
  expect(back.findings[0]!.expected).toBe('aa');
});

test('a malformed CaseResult file is refused with a stable code', () => {
  expect(() => parseCaseResult('{"id":"x"}', 'f.json')).toThrow(expect.objectContaining({ code: 'ERR_REPORT_CASE_RESULT' }));
  expect(() => parseCaseResult('not json', 'f.json')).toThrow(/f\.json: not JSON/);
  const bad = JSON.parse(serializeCaseResult(sampleCase('a/1/1', 'PASS')));
  bad.verdict = 'MAYBE';
  expect(() => parseCaseResult(JSON.stringify(bad))).toThrow(/unknown verdict 'MAYBE'/);
});

test('markup escapes text and attributes and refuses bad names', () => {
  expect(render(el('a', { title: '"<&>\'' }, ['<b>&</b>']))).toBe('<a title="&quot;&lt;&amp;&gt;&#39;">&lt;b&gt;&amp;&lt;/b&gt;</a>');
  expect(() => el('a b')).toThrow(expect.objectContaining({ code: 'ERR_REPORT_MARKUP' }));
  expect(() => el('a', { 'on"x': 1 })).toThrow(/not a valid/);
  expect(render(el('br'), 'html')).toBe('<br>');
  expect(render(el('td'), 'html')).toBe('<td></td>');
});

test('secrets are redacted unless allowed; identifiers are kept', () => {
  const worksheet = { password: 'c2VjcmV0', ha1: 'abc', ha2: 'def', response: '123', keyIds: [{ idType: 1, value: Buffer.from([1]) }], key: Buffer.from([9]) };
  expect(toReportJson(worksheet)).toEqual({ password: REDACTED, ha1: REDACTED, ha2: 'def', response: '123', keyIds: [{ idType: 1, value: '01' }], key: REDACTED });
  expect(toReportJson(worksheet, { allowSecrets: true })).toEqual({ password: 'c2VjcmV0', ha1: 'abc', ha2: 'def', response: '123', keyIds: [{ idType: 1, value: '01' }], key: '09' });
  expect(toReportJson({ Ks_NAF: 'x', MUK: 'y', msk: 'z', tsValue: 5n })).toEqual({ Ks_NAF: REDACTED, MUK: REDACTED, msk: REDACTED, tsValue: '5' });
});

test('quality gates', () => {
  const pass = sampleCase('bmsc/6.3.1/01', 'PASS');
  const inconcMandatory = sampleCase('bmsc/6.3.1/02', 'INCONC');
  const naOptional = sampleCase('bmsc/6.3.1/03', 'NOT-APPLICABLE', { mandatory: false });
  const failOptional = sampleCase('bmsc/6.3.1/04', 'FAIL', { mandatory: false });
  // INCONC is "not shown to conform": the default gate fails on it, naming it.
  const inconc = evaluateGate([pass, inconcMandatory, naOptional], 'no-fail');
  expect(inconc.passed).toBe(false);
  expect(inconc.reason).toBe('1 case not shown to conform (1 INCONC)');
  expect(evaluateGate([pass, naOptional], 'no-fail')).toMatchObject({ passed: true, reason: expect.stringMatching(/^1 PASS; /) });
  // A dead SUT: nothing PASSed, everything INCONC.
  const dead = evaluateGate([inconcMandatory, sampleCase('bmsc/6.3.1/05', 'INCONC')], 'no-fail');
  expect(dead.passed).toBe(false);
  expect(dead.reason).toMatch(/^no case PASSed/);
  // Nothing but NOT-APPLICABLE shows nothing either.
  expect(evaluateGate([naOptional], 'all-pass').passed).toBe(false);
  // An interrupted run and a case that never ran fail every gate but none.
  for (const gate of ['no-fail', 'mandatory-pass', 'all-pass'] as const) {
    expect(evaluateGate([pass, naOptional], gate, { interrupted: true })).toMatchObject({ passed: false, interrupted: true, reason: expect.stringMatching(/interrupted/) });
    expect(evaluateGate([pass, { ...pass, id: 'bmsc/6.3.1/09', verdict: 'NOT-RUN' as const, note: 'never ran' }], gate).passed).toBe(false);
  }
  expect(evaluateGate([inconcMandatory], 'none', { interrupted: true }).passed).toBe(true);
  expect(evaluateGate([pass, inconcMandatory, naOptional], 'mandatory-pass').violations.map((v) => v.id)).toEqual(['bmsc/6.3.1/02']);
  expect(evaluateGate([pass, naOptional], 'mandatory-pass').passed).toBe(true);
  const withFail = evaluateGate([pass, failOptional], 'no-fail');
  expect(withFail.passed).toBe(false);
  expect(withFail.violations[0]).toMatchObject({ id: 'bmsc/6.3.1/04', verdict: 'FAIL', reason: 'mikey.mac: MAC does not verify' });
  expect(evaluateGate([pass, failOptional], 'mandatory-pass').passed).toBe(false);
  expect(evaluateGate([pass, inconcMandatory], 'all-pass').passed).toBe(false);
  expect(evaluateGate([], 'no-fail').passed).toBe(false);
  expect(evaluateGate([failOptional], 'none').passed).toBe(true);
});

test('per-clause summary counts every verdict once', () => {
  const text = formatClauseSummary([
    sampleCase('bmsc/6.3.1/01', 'PASS'), sampleCase('bmsc/6.3.1/02', 'FAIL'), sampleCase('bmsc/6.3.3/01', 'INCONC', { clause: '6.3.3', procedure: 'MTK update' }),
    sampleCase('ue/6.3.1/01', 'ERROR', { role: 'ue' }),
  ]);
  const lines = text.trim().split('\n');
  expect(lines.find((l) => l.startsWith('BM-SC under test  6.3.1'))).toMatch(/\s1\s+1\s+0\s+0\s+0$/);
  expect(lines.find((l) => l.startsWith('BM-SC under test  6.3.3'))).toMatch(/\s0\s+0\s+1\s+0\s+0$/);
  expect(lines.find((l) => l.startsWith('UE under test'))).toMatch(/\s0\s+0\s+0\s+1\s+0$/);
  expect(lines.at(-1)).toMatch(/^total\s+4 cases\s+1\s+1\s+1\s+1\s+0$/);
});

test('environment.properties escaping follows java.util.Properties', () => {
  expect(propertiesText({ 'sut.name': 'acme: BM-SC = v1', 'a b': 'é\nx' })).toBe('sut.name=acme\\: BM-SC \\= v1\na\\ b=\\u00e9\\nx\n');
});
