// The keys file of `analyze`: schema-checked, errors with line and field, MUK defaulting to Ks_NAF (GBA_ME).
import { test, expect } from '@playwright/test';
import { AnalyzeKeysError, loadKeys, parseKeys } from './index.ts';

const KS = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

test('Ks_NAF is the MUK unless muk is given; MSKs by (domain, MSK ID) in lower case', () => {
  const keys = parseKeys(`ues:\n  - { btid: a@bsf, ksNaf: ${KS} }\n  - { btid: b@bsf, ksNaf: ${KS}, muk: ${'ab'.repeat(32)}, address: 10.0.0.2, mikeyPort: 4359 }\n  - { btid: c@bsf, muk: ${'cd'.repeat(16)} }\nmsks:\n  - { keyDomainId: 00F110, mskId: "0001000A", key: ${'11'.repeat(16)} }\n`);
  expect(keys.ues.map((u) => [u.btid, u.muk?.toString('hex'), u.ksNaf?.toString('hex')])).toEqual([
    ['a@bsf', KS, KS], ['b@bsf', 'ab'.repeat(32), KS], ['c@bsf', 'cd'.repeat(16), undefined],
  ]);
  expect(keys.ues[1]).toMatchObject({ address: '10.0.0.2', mikeyPort: 4359 });
  expect(keys.msks).toEqual([{ keyDomainId: '00f110', mskId: '0001000a', key: Buffer.from('11'.repeat(16), 'hex') }]);
});

test('hex written unquoted with digits only is taken as written, leading zeros included', () => {
  const keys = parseKeys(`ues:\n  - { btid: x, ksNaf: ${'0'.repeat(62)}12 }\nmsks:\n  - { keyDomainId: 001010, mskId: 00010001, key: ${'01'.repeat(16)}, rand: 0011 }\n`);
  expect(keys.ues[0]!.ksNaf!.toString('hex')).toBe(`${'0'.repeat(62)}12`);
  expect(keys.msks[0]).toMatchObject({ keyDomainId: '001010', mskId: '00010001', key: Buffer.from('01'.repeat(16), 'hex'), rand: Buffer.from('0011', 'hex') });
});

test('schema errors name the line and the field', () => {
  const cases: [string, RegExp, number][] = [
    ['ues:\n  - btid: x\n    ksNaf: 12z4\n', /ues\[0\]\.ksNaf: must match pattern/, 3],
    ['ues:\n  - { btid: x, ksNaf: 00, colour: red }\n', /unknown field 'colour'/, 2],
    ['ues:\n  - { btid: x }\n', /ues\[0\]/, 2],
    ['msks:\n  - { keyDomainId: 00f1, mskId: "00010001", key: 00 }\n', /msks\[0\]\.keyDomainId/, 2],
    ['secrets: {}\n', /unknown field 'secrets'/, 1],
  ];
  for (const [text, message, line] of cases) {
    let error: unknown;
    try {
      parseKeys(text, 'k.yaml');
    } catch (e) {
      error = e;
    }
    expect(error, text).toBeInstanceOf(AnalyzeKeysError);
    expect((error as AnalyzeKeysError).code).toBe('ERR_ANALYZE_KEYS');
    expect((error as AnalyzeKeysError).message).toMatch(message);
    expect((error as AnalyzeKeysError).line, text).toBe(line);
    expect((error as AnalyzeKeysError).message.startsWith(`k.yaml:${line}: `)).toBe(true);
  }
});

test('a B-TID listed twice, broken YAML and a missing file are errors too', () => {
  expect(() => parseKeys(`ues:\n  - { btid: x, ksNaf: ${KS} }\n  - { btid: x, ksNaf: ${KS} }\n`, 'k.yaml')).toThrow(/ues\[1\]\.btid: B-TID 'x' listed twice/);
  expect(() => parseKeys('ues: [\n', 'k.yaml')).toThrow(AnalyzeKeysError);
  expect(() => loadKeys('/nonexistent/keys.yaml')).toThrow(/\/nonexistent\/keys\.yaml: cannot read: ENOENT/);
});

test('a JSON keys file reads as its YAML form does; a JSON file that fails the schema names the line', () => {
  const ues = Array.from({ length: 50 }, (_, i) => ({ btid: `ue${i}@bsf`, ksNaf: KS, address: `10.0.0.${i}` }));
  const json = JSON.stringify({ ues, msks: [{ keyDomainId: '00F110', mskId: '00010001', key: KS.slice(0, 32) }] }, null, 1);
  const yaml = `ues:\n${ues.map((u) => `  - { btid: "${u.btid}", ksNaf: ${u.ksNaf}, address: "${u.address}" }`).join('\n')}\nmsks:\n  - { keyDomainId: "00F110", mskId: "00010001", key: ${KS.slice(0, 32)} }\n`;
  expect(parseKeys(json, 'k.json')).toEqual(parseKeys(yaml, 'k.yaml'));
  const bad = JSON.stringify({ ues: [{ btid: 'a@b', ksNaf: 'zz' }] }, null, 2);
  expect(() => parseKeys(bad, 'k.json')).toThrow(/^k\.json:5: ues\[0\]\.ksNaf: /);
});
