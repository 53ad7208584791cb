import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMikeyProfile } from '../mikey/index.ts';
import { defaultProfile, referenceProfile, loadProfile, parseProfile, validateProfile, profileSchema, mskRequestTarget, deepMerge, ProfileError } from './index.ts';

function profileErrorOf(action: () => unknown): ProfileError {
  try { action(); } catch (error) {
    expect(error).toBeInstanceOf(ProfileError);
    return error as ProfileError;
  }
  throw new Error('expected a ProfileError');
}

test.describe('profile defaults (protocol §9)', () => {
  test('defaultProfile carries the §9 suggested values', () => {
    const p = defaultProfile();
    expect(p.ports.ueMikey).toBe(4359);                                   // O1
    expect(mskRequestTarget(p)).toBe('/keymanagement?requesttype=msk-request'); // O2
    expect(p.xml.idEncoding).toBe('base64');                              // O3
    expect(p.statusCodes.success).toBe(200);                              // O4
    expect([p.http.qop, p.http.algorithm, p.http.rspauthMandatory]).toEqual(['auth-int', 'MD5', true]); // O5
    expect(p.http.realmPrefixes).toEqual(['3GPP-bootstrapping']);         // O6
    expect(p.keyIds.keyDomainLayout).toBe('plmn-bcd');                    // O14
    expect(p.ack.destination).toBe('source');                             // O17
    expect(p.retransmission).toEqual({ intervalMs: 2000, count: 3, freshTs: true }); // O18
    expect(p.ueDuplicatePolicy).toBe('drop');                             // O18
    expect(p.errors.ueSendsErr).toBe('never');                            // O19
    expect(p.keyIds.maxMsksPerGroup).toBe(2);                             // O21
    expect(p.srtp.mkiLength).toBe(6);                                     // O22
    expect(p.http.userAgentToken).toBe('3gpp-gba');
    expect(p.http.requestContentType).toBe('application/mbms-msk+xml');
    expect(p.http.responseContentType).toBe('application/mbms-msk-response+xml');
  });

  test('referenceProfile only shortens waiting bounds', () => {
    const d = defaultProfile();
    const r = referenceProfile();
    expect(r.retransmission.intervalMs).toBe(150);
    expect(r.timers.silenceMs).toBe(300);
    expect(r.timers.deliverMs).toBe(1000);
    expect({ ...r, timers: d.timers, retransmission: d.retransmission }).toEqual(d);
  });

  test('both defaults are valid against the schema and JSON round-trip', () => {
    for (const p of [defaultProfile(), referenceProfile()]) {
      expect(validateProfile(JSON.parse(JSON.stringify(p)))).toEqual(p);
    }
  });

  test('every schema field is described and names its open point (or reference section)', () => {
    const walk = (node: Record<string, unknown>, path: string): string[] => {
      const missing: string[] = [];
      const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [key, child] of Object.entries(props)) {
        const desc = child.description;
        if (typeof desc !== 'string' || !/(O\d{1,2}\b|§\d|DESIGN\.md)/.test(desc)) missing.push(`${path}${key}`);
        missing.push(...walk(child, `${path}${key}.`));
      }
      return missing;
    };
    expect(walk(profileSchema, '')).toEqual([]);
    expect(profileSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  test('the mikey section of the schema follows lib/mikey\'s MikeyProfile field for field (no drift)', () => {
    const keysOf = (value: unknown): unknown => (typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keysOf(v)]).sort(([a], [b]) => String(a).localeCompare(String(b))))
      : null);
    const schemaKeys = (node: Record<string, unknown>): unknown => {
      const props = node.properties as Record<string, Record<string, unknown>> | undefined;
      if (!props || node.type !== 'object') return null;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, schemaKeys(v)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    };
    const mikeySchema = (profileSchema.properties as Record<string, Record<string, unknown>>).mikey!;
    expect(schemaKeys(mikeySchema)).toEqual(keysOf(defaultMikeyProfile));
    expect(mikeySchema.required).toEqual(Object.keys(defaultMikeyProfile));
  });

  test('deepMerge merges objects, replaces arrays and ignores __proto__', () => {
    const merged = deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, JSON.parse('{"a": {"c": [3]}, "__proto__": {"polluted": true}}'));
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

test.describe('loadProfile (YAML/JSON, schema errors name file, line and field)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbms-profile-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('a partial YAML file is merged over the defaults', () => {
    const path = file('ok.yaml', 'http:\n  qop: auth\n  realmPrefixes: [3GPP-bootstrapping, 3GPP-bootstrapping-uicc]\nports:\n  ueMikey: 2269\n');
    const p = loadProfile(path);
    expect(p.http.qop).toBe('auth');
    expect(p.http.realmPrefixes).toEqual(['3GPP-bootstrapping', '3GPP-bootstrapping-uicc']);
    expect(p.ports.ueMikey).toBe(2269);
    expect(p.http.algorithm).toBe('MD5');
    expect(p.timers).toEqual(defaultProfile().timers);
    expect(loadProfile(path, { base: 'reference' }).timers).toEqual(referenceProfile().timers);
  });

  test('MIKEY options (O7-O16, O20) merge into the embedded lib/mikey profile and are checked', () => {
    const p = loadProfile(file('mikey.yaml', 'mikey:\n  mtkRandSource: empty\n  verification:\n    macVariant: ts8-only\n'));
    expect(p.mikey.mtkRandSource).toBe('empty');
    expect(p.mikey.verification).toEqual({ ...defaultMikeyProfile.verification, macVariant: 'ts8-only' });
    expect(p.mikey.timestamp).toEqual(defaultMikeyProfile.timestamp);
    const error = profileErrorOf(() => loadProfile(file('mikey-bad.yaml', 'mikey:\n  verification:\n    macVariant: rfc\n')));
    expect([error.field, error.line, error.column]).toEqual(['mikey.verification.macVariant', 3, 17]);
  });

  test('a JSON file loads too, and O4 accepts extra status meanings', () => {
    const p = loadProfile(file('ok.json', '{ "statusCodes": { "notSubscribed": 403 }, "xml": { "entryElement": "key" } }'));
    expect(p.statusCodes).toMatchObject({ success: 200, notSubscribed: 403 });
    expect(p.xml.entryElement).toBe('key');
  });

  test('wrong enum value: line and column of the value, dotted field', () => {
    const path = file('enum.yaml', '# profile\nhttp:\n  path: /km\n  qop: auth-conf\n');
    const error = profileErrorOf(() => loadProfile(path));
    expect(error.code).toBe('ERR_PROFILE');
    expect(error.file).toBe(path);
    expect(error.field).toBe('http.qop');
    expect([error.line, error.column]).toEqual([4, 8]);
    expect(error.message).toContain(`${path}:4:8: http.qop:`);
    expect(error.reason).toMatch(/auth-int/);
  });

  test('unknown field: points at the key', () => {
    const error = profileErrorOf(() => loadProfile(file('extra.yaml', 'timers:\n  ackMs: 100\n  ackTimeout: 5\n')));
    expect(error.field).toBe('timers.ackTimeout');
    expect(error.reason).toBe('unknown field');
    expect([error.line, error.column]).toEqual([3, 3]);
  });

  test('wrong type inside an array (JSON file)', () => {
    const error = profileErrorOf(() => loadProfile(file('arr.json', '{\n  "http": {\n    "realmPrefixes": ["3GPP-bootstrapping", 7]\n  }\n}\n')));
    expect(error.field).toBe('http.realmPrefixes.1');
    expect(error.line).toBe(3);
    expect(error.reason).toMatch(/string/);
  });

  test('number out of range and conditional requirement', () => {
    const range = profileErrorOf(() => loadProfile(file('range.yaml', 'ports:\n  ueMikey: 70000\n')));
    expect([range.field, range.line]).toEqual(['ports.ueMikey', 2]);
    const cond = profileErrorOf(() => loadProfile(file('cond.yaml', 'ack:\n  destination: configured\n  port: 4000\n')));
    expect(cond.field).toBe('ack.address');
    expect(cond.line).toBe(2);
  });

  test('a section replaced by a scalar is reported at that section', () => {
    const error = profileErrorOf(() => loadProfile(file('scalar.yaml', 'gba: GBA_U\n')));
    expect(error.field).toBe('gba');
    expect([error.line, error.column]).toEqual([1, 6]);
  });

  test('YAML syntax errors, duplicate keys, non-mapping documents and missing files', () => {
    const syntax = profileErrorOf(() => loadProfile(file('syntax.yaml', 'http:\n  qop: [auth\n')));
    expect(syntax.line).toBeGreaterThanOrEqual(2);
    const dup = profileErrorOf(() => loadProfile(file('dup.yaml', 'http:\n  qop: auth\n  qop: auth-int\n')));
    expect(dup.line).toBe(3);
    const list = profileErrorOf(() => parseProfile('- a\n- b\n', 'list.yaml'));
    expect(list.reason).toMatch(/mapping/);
    const missing = profileErrorOf(() => loadProfile(join(dir, 'nope.yaml')));
    expect(missing.reason).toMatch(/cannot read/);
  });

  test('validateProfile of an in-memory object names the field without a line', () => {
    const p = defaultProfile() as unknown as { keyIds: { maxMsksPerGroup: number } };
    p.keyIds.maxMsksPerGroup = 0;
    const error = profileErrorOf(() => validateProfile(p));
    expect(error.field).toBe('keyIds.maxMsksPerGroup');
    expect(error.line).toBeUndefined();
  });
});
