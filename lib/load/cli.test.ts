// `mbms-conform load` as a user runs it: exit codes, the JSON summary's fields, a fault shown as failures.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCommand } from '../cli/run-command.ts';
import { findExecutable, isRoot } from '../capture/backends.ts';
import { ReferenceBmsc } from '../reference/index.ts';
import { embeddedLoadProfile } from './population.ts';
import { shellQuote as shellWord } from './runners.ts';

/** UE addresses and a MIKEY port of their own (load.test.ts takes slices from index 0; 4359 may be held on the wildcard address). */
const load = (args: string[]) => runCommand(['load', '--first-ue', String(1_000_000 + test.info().parallelIndex * 10_000), '--ue-mikey-port', String(47_000 + test.info().parallelIndex), ...args]);

test('a short open-loop run: exit 0 and one JSON summary with the figures a datasheet needs', async () => {
  const r = await load(['--rate', '20', '--duration', '1', '--ues', '5', '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s).toMatchObject({ scenario: 'msk-request', mode: 'open-loop', rate: 20, ues: 5, lostAcks: 0, errors: {}, conformanceFailures: {} });
  expect(s.completed).toBe(s.offered);
  expect(Object.keys(s.latencyMs)).toEqual(['p50', 'p90', 'p99', 'p999', 'max', 'count']);
  expect(s.completedPerSecond).toBeGreaterThan(10);
  expect(s.sut).toEqual({ name: 'reference BM-SC (embedded)', faults: [] });
});

test('a faulty BM-SC under load: exit 1 and the failing check in the summary', async () => {
  const r = await load(['--rate', '20', '--duration', '1', '--ues', '5', '--fault', 'bmsc-bad-mac']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/conformance failures: .*mikey\.mac \d+/);
});

test('bad input: exit 2 with one line naming the option', async () => {
  const r = await load(['--rate', '0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--rate 0: a number above 0');
  const both = await load(['--rate', '5', '--concurrency', '2']);
  expect(both.code).toBe(2);
  const fault = await load(['--fault', 'bmsc-no-such-fault', '--duration', '1']);
  expect(fault.code).toBe(2);
  expect(fault.stderr).toContain('bmsc-no-such-fault');
});

test('push-group: exit 0 and one JSON summary with the time every UE took to have the new MSK', async () => {
  const r = await load(['--scenario', 'push-group', '--ues', '30', '--unsubscribed', '2', '--processes', '0', '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s).toMatchObject({ scenario: 'push-group', ues: 30, unsubscribedUes: 2, delivered: 30, acknowledged: 30, lostAcks: 0, errors: {}, conformanceFailures: {}, bmscOutstandingAcks: 0 });
  expect(s.allAcknowledgedMs).toBeGreaterThan(0);
  expect(Object.keys(s.latencyMs)).toEqual(['p50', 'p90', 'p99', 'p999', 'max', 'count']);
});

test('load merge: the JSON summaries of two processes run side by side, as one; HTML and Allure outputs written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'load-merge-'));
  const base = 1_500_000 + test.info().parallelIndex * 10_000;
  const runs = await Promise.all([0, 1].map((i) => runCommand(['load', '--first-ue', String(base + i * 100), '--ue-mikey-port', String(47_100 + test.info().parallelIndex * 2 + i), '--rate', '10', '--duration', '1', '--ues', '5', '--json'])));
  for (const [i, r] of runs.entries()) {
    expect(r.code).toBe(0);
    writeFileSync(join(dir, `${i}.json`), r.stdout);
  }
  const m = await runCommand(['load', 'merge', join(dir, '0.json'), join(dir, '1.json'), '--json', '--html', join(dir, 'r.html'), '--allure-results', join(dir, 'allure')]);
  expect(m.code).toBe(0);
  const s = JSON.parse(m.stdout);
  const parts = runs.map((r) => JSON.parse(r.stdout));
  expect(s.completed).toBe(parts[0].completed + parts[1].completed);
  expect(s.latencyMs.count).toBe(s.completed);
  expect(s.merged.processes).toBe(2);
  expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('<svg ');
  expect(readdirSync(join(dir, 'allure')).filter((f) => f.endsWith('-result.json'))).toHaveLength(1);
  const bad = await runCommand(['load', 'merge', join(dir, 'r.html')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('not a JSON summary');
});

test('options of one scenario refused with another: exit 2 naming the option', async () => {
  const r = await load(['--scenario', 'push-group', '--rate', '5']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--rate: not for push-group');
  const u = await load(['--unsubscribed', '3']);
  expect(u.code).toBe(2);
  expect(u.stderr).toContain('--unsubscribed: for push-group, pull-group and mtk-update only');
  const c = await load(['--scenario', 'mtk-update', '--concurrency', '5']);
  expect(c.code).toBe(2);
  expect(c.stderr).toContain('--concurrency: not for mtk-update');
});

test('mtk-update: exit 0, the JSON summary with each UE\'s wait for its new MTK, the CSV per update and the HTML report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'load-mtk-'));
  const r = await load(['--scenario', 'mtk-update', '--ues', '20', '--unsubscribed', '1', '--processes', '0', '--rate', '5', '--duration', '0.6', '--json',
    '--csv', join(dir, 'u.csv'), '--html', join(dir, 'r.html')]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s).toMatchObject({ scenario: 'mtk-update', ues: 20, updates: 3, expected: 60, delivered: 60, lostAcks: 0, errors: {}, conformanceFailures: {} });
  expect(Object.keys(s.latencyMs)).toEqual(['p50', 'p90', 'p99', 'p999', 'max', 'count']);
  expect(s.completedPerSecond).toBeGreaterThan(0);
  const csv = readFileSync(join(dir, 'u.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe('update,mtk_id,triggered_ms,delivered,all_delivered_ms');
  expect(csv).toHaveLength(4);
  expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('time until every UE had the new MTK');
});

test('--sut: a BM-SC under test from its SUT profile, the population provisioned through its control API', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'load-sut-'));
  const keyDomainId = Buffer.from('00f110', 'hex');
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.lab.example.com', profile: embeddedLoadProfile(), mtkRekey: false,
    services: [{ keyDomainId, keyGroup: 1, name: 'a' }, { keyDomainId, keyGroup: 2, name: 'b' }], users: [],
  });
  const endpoints = await bmsc.start();
  try {
    const profile = join(dir, 'sut.yaml');
    writeFileSync(profile, [
      'name: BM-SC under load', 'role: bmsc', `capabilities: ${join(process.cwd(), 'fixtures/pics/reference-bmsc.yaml')}`, 'profile: { base: default }',
      `sut: { nafFqdn: bmsc.lab.example.com, http: { address: ${endpoints.http.address}, port: ${endpoints.http.port} } }`,
      'identities: [{ btid: "tester-1@bsf.lab.example.com", ksNaf: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" }]',
      'keys: { subscribed: [{ keyDomainId: 00f110, mskId: "00010001" }], unsubscribed: [{ keyDomainId: 00f110, mskId: "00020001" }] }',
      `trigger: { kind: control-api, url: "http://${endpoints.control.address}:${endpoints.control.port}", provision: true }`, '',
    ].join('\n'));
    const push = await load(['--sut', profile, '--scenario', 'push-group', '--ues', '12', '--unsubscribed', '2', '--processes', '0', '--json']);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const s = JSON.parse(push.stdout);
    expect(s).toMatchObject({ scenario: 'push-group', delivered: 12, acknowledged: 12, lostAcks: 0, conformanceFailures: {}, sut: { name: 'BM-SC under load', faults: [] } });
    expect(s.bmscOutstandingAcks).toBeUndefined(); // a BM-SC under test does not say
    // One command, two runners (local processes here; ssh to other machines in a lab), the same BM-SC: each
    // provisions and drives its slice, the summaries merged into one
    const runner = `${shellWord(process.execPath)} ${shellWord(join(process.cwd(), 'bin/mbms-conform.js'))}`;
    const split = await load(['--sut', profile, '--runner', runner, '--runner', runner, '--rate', '10', '--duration', '1', '--ues', '6', '--json']);
    expect(split.code).toBe(0);
    const merged = JSON.parse(split.stdout);
    expect(merged).toMatchObject({ scenario: 'msk-request', merged: { processes: 2 }, errors: {}, conformanceFailures: {}, lostAcks: 0 });
    expect(merged.completed).toBe(merged.offered);
    expect(merged.offered).toBeGreaterThanOrEqual(8); // 5/s each for 1 s, both runners
    // The same BM-SC, long-lived: the population provisioned again, a new MSK pushed, MTK updates under it
    const mtk = await load(['--sut', profile, '--scenario', 'mtk-update', '--ues', '12', '--unsubscribed', '2', '--processes', '0', '--rate', '5', '--duration', '0.4', '--json']);
    expect(mtk.stderr).toBe('');
    expect(mtk.code).toBe(0);
    expect(JSON.parse(mtk.stdout)).toMatchObject({ scenario: 'mtk-update', updates: 2, expected: 24, delivered: 24, errors: {}, conformanceFailures: {} });
    // The solicited pull of the group through the control API (rotate-msk with solicitedPull), same BM-SC
    const pull = await load(['--sut', profile, '--scenario', 'pull-group', '--ues', '12', '--unsubscribed', '2', '--processes', '0', '--json']);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(JSON.parse(pull.stdout)).toMatchObject({ scenario: 'pull-group', delivered: 12, acknowledged: 12, pull: { triggers: 12, granted: 12 }, errors: {}, conformanceFailures: {} });
    const requests = await load(['--sut', profile, '--rate', '10', '--duration', '1', '--ues', '5', '--json']);
    expect(requests.code).toBe(0);
    expect(JSON.parse(requests.stdout)).toMatchObject({ scenario: 'msk-request', errors: {}, conformanceFailures: {}, lostAcks: 0 });
    const noProvision = join(dir, 'no-provision.yaml');
    writeFileSync(noProvision, readFileSync(profile, 'utf8').replace('provision: true', 'provision: false'));
    const refused = await load(['--sut', noProvision, '--duration', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('provision: true');
  } finally {
    await bmsc.stop();
  }
});

test('--capture: each piece of evidence comes with its UE\'s packets, read back by tshark', async () => {
  test.skip(!isRoot() || !findExecutable('tcpdump'), 'capturing needs root and tcpdump (CI has both)');
  test.skip(!findExecutable('tshark'), 'tshark reads the slices back (CI installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'load-capture-'));
  const r = await load(['--rate', '20', '--duration', '1', '--ues', '5', '--fault', 'bmsc-bad-mac', '--capture', join(dir, 'run.pcap'), '--json']);
  expect(r.code).toBe(1);
  const s = JSON.parse(r.stdout);
  const e = s.evidence.find((x: { check: string }) => x.check === 'mikey.mac');
  expect(e.pcap).toBe(join(dir, 'run-evidence-1.pcap'));
  // Every frame of the slice is to or from the UE's address; the MSK message whose MAC failed is among them
  const fields = spawnSync('tshark', ['-r', e.pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.length'], { encoding: 'utf8' });
  expect(fields.status).toBe(0);
  const rows = fields.stdout.trim().split('\n').map((l) => l.split('\t'));
  expect(rows.length).toBeGreaterThan(3);
  for (const [src, dst] of rows) expect([src, dst]).toContain(e.address);
  expect(rows.some(([src, dst, udp]) => dst === e.address && src !== e.address && Number(udp) > 100)).toBe(true);
  expect(readdirSync(dir)).toContain('run.pcap');
});

test('--capture where it cannot capture (no root, no tcpdump, or a directory that does not exist): exit 2 naming the option', async () => {
  const r = await load(['--rate', '5', '--duration', '1', '--ues', '2', '--capture', join(tmpdir(), 'no-such-directory', 'never.pcap')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--capture');
});

test('a BM-SC without control API: load population writes its users to import, --provisioned runs against them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'load-population-'));
  const profile = join(dir, 'sut.yaml');
  const keyDomainId = Buffer.from('00f110', 'hex');
  const writeProfile = (http: { address: string; port: number }) => writeFileSync(profile, [
    'name: BM-SC without control API', 'role: bmsc', `capabilities: ${join(process.cwd(), 'fixtures/pics/reference-bmsc.yaml')}`, 'profile: { base: default }',
    `sut: { nafFqdn: bmsc.lab.example.com, http: { address: ${http.address}, port: ${http.port} } }`,
    'identities: [{ btid: "tester-1@bsf.lab.example.com", ksNaf: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" }]',
    'keys: { subscribed: [{ keyDomainId: 00f110, mskId: "00010001" }], unsubscribed: [{ keyDomainId: 00f110, mskId: "00020001" }] }',
    'trigger: { kind: none }', '',
  ].join('\n'));
  writeProfile({ address: '127.0.0.1', port: 9 });
  const refused = await load(['--sut', profile, '--duration', '1', '--ues', '4']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('load population');
  const out = join(dir, 'users.json');
  const written = await load(['population', '--sut', profile, '--out', out, '--ues', '4', '--unsubscribed', '1']);
  expect(written.code).toBe(0);
  expect(statSync(out).mode & 0o777).toBe(0o600); // it holds the test UEs' Ks_NAF
  const users = JSON.parse(readFileSync(out, 'utf8')) as { btid: string; ksNaf: string; ueAddress: string; uePort: number; subscriptions: { keyDomainId: string; keyGroups: number[] }[] }[];
  expect(users).toHaveLength(5);
  expect(users.map((u) => u.subscriptions[0]!.keyGroups[0])).toEqual([1, 1, 1, 1, 2]);
  // The BM-SC imports the file as its subscriber data (here: the reference BM-SC's users), no control API
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.lab.example.com', profile: embeddedLoadProfile(), mtkRekey: false,
    services: [{ keyDomainId, keyGroup: 1, name: 'a' }, { keyDomainId, keyGroup: 2, name: 'b' }],
    users: users.map((u) => ({ btid: u.btid, ksNaf: Buffer.from(u.ksNaf, 'hex'), ueAddress: u.ueAddress, uePort: u.uePort, subscriptions: u.subscriptions.map((x) => ({ keyDomainId: Buffer.from(x.keyDomainId, 'hex'), keyGroups: x.keyGroups })) })),
  });
  const endpoints = await bmsc.start();
  try {
    writeProfile(endpoints.http);
    const r = await load(['--sut', profile, '--provisioned', '--rate', '8', '--duration', '1', '--ues', '4', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ scenario: 'msk-request', errors: {}, conformanceFailures: {}, lostAcks: 0 });
  } finally {
    await bmsc.stop();
  }
});
