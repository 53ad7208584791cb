// The BM-SC configuration loader: the shipped examples load, and mistakes are named precisely.
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadUeConfig } from '../ue/index.ts';
import { loadBmscConfig } from './index.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/reference');

test('the example configurations load', () => {
  const bmsc = loadBmscConfig(join(FIXTURES, 'bmsc.yaml'), { httpPort: 0 });
  expect(bmsc.nafFqdn).toBe('bmsc.example.com');
  expect(bmsc.http).toEqual({ address: '127.0.0.1', port: 0 });
  expect(bmsc.services.map((s) => [s.keyDomainId.toString('hex'), s.keyGroup])).toEqual([['00f110', 1], ['00f110', 2]]);
  expect(bmsc.users[0]!.subscriptions[0]!.keyGroups).toEqual([1, 2]);
  expect(bmsc.stateFile).toBe(resolve(FIXTURES, '../../reports/reference/bmsc-state.json'));
  expect(bmsc.profile.retransmission).toEqual({ intervalMs: 2000, count: 3, freshTs: true }); // §9 default
  const ue = loadUeConfig(join(FIXTURES, 'ue.yaml'));
  expect(ue.bmscUrl).toBe(`http://${bmsc.http.address}:4380`);
  expect(ue.mikey?.port).toBe(bmsc.users[0]!.uePort);
});

test('mistakes are reported with file, line and field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmsc-config-'));
  const cases: [string, RegExp][] = [
    ['http: { port: 1 }\n', /:1: nafFqdn: required/],
    ['nafFqdn: b.example\nhttp: { port: 70000 }\n', /:2: http\.port: must be a port/],
    ['nafFqdn: b.example\nservices:\n  - { keyDomainId: 1-1, keyGroup: 1 }\n', /:3: services\[0\]\.keyDomainId: Key Domain ID '1-1'/],
    ['nafFqdn: b.example\nusers:\n  - btid: u\n    ksNaf: 00\n', /:4: users\[0\]\.ksNaf:/],
    ['nafFqdn: b.example\nusers:\n  - btid: u\n    ksNaf: 000102030405060708090a0b0c0d0e0f\n    subscriptions: [{ keyDomainId: 00f110 }]\n', /users\[0\]\.subscriptions\[0\]: names no key group/],
    ['nafFqdn: b.example\nprofile: { retransmission: { count: -1 } }\n', /:2: profile: .*retransmission\.count/],
    ['nafFqdn: b.example\nextra: 1\n', /:2: extra: unknown field/],
  ];
  for (const [text, expected] of cases) {
    const path = join(dir, 'c.yaml');
    writeFileSync(path, text);
    expect(() => loadBmscConfig(path), text).toThrow(expected);
  }
});
