// `mbms-conform analyze` as a user runs it: exit codes (0 all PASS, 1 any FAIL, 2 bad input with one line
// naming the file and the reason, 3 the analysis failed), the summary, --json and the Allure result files.
import { test, expect } from '@playwright/test';
import { runCommand } from '../../cli/run-command.ts';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PCAPS = 'fixtures/pcaps';
const BASE = ['--profile', `${PCAPS}/profile.yaml`, '--keys', `${PCAPS}/keys.yaml`];

const run = (args: string[]) => runCommand(['analyze', ...args]);

const tmp = () => mkdtempSync(join(tmpdir(), 'analyze-cli-'));

test('clean capture: exit 0, every procedure PASS in the summary, one Allure result per procedure kind', async () => {
  const allure = tmp();
  const r = await run([`${PCAPS}/clean.pcap`, ...BASE, '--allure-results', allure]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Procedures (5)');
  expect(r.stdout).toMatch(/PASS\s+msk-request#1\s+6\.3\.1/);
  expect(r.stdout).toMatch(/PASS\s+mtk-update#1\s+6\.3\.3/);
  expect(r.stdout).toMatch(/^\s+mikey\.mac\s+7\s/m);
  expect(r.stdout).toContain('Verdict: PASS (5 PASS)');
  const results = readdirSync(allure).filter((f) => f.endsWith('-result.json')).map((f) => JSON.parse(readFileSync(join(allure, f), 'utf8')));
  // every instance passed: one result per procedure kind, a step per instance
  expect(results.map((x) => x.name).sort()).toEqual(['msk-push: 1 PASS', 'msk-request: 2 PASS', 'mtk-update: 1 PASS', 'solicited-pull: 1 PASS']);
  expect(results.find((x) => x.name === 'msk-request: 2 PASS').steps.map((x: { name: string }) => x.name.split(/[ :]/)[0])).toEqual(['msk-request#1', 'msk-request#2']);
  for (const res of results) {
    expect(res.status).toBe('passed');
    expect(res.stage).toBe('finished');
    expect(res.labels).toContainEqual({ name: 'verdict', value: 'PASS' });
    for (const a of res.attachments) expect(readdirSync(allure)).toContain(a.source);
  }
});

test('a fault capture: exit 1, the failing check with its frames in the summary, a failed Allure result', async () => {
  const allure = tmp();
  const r = await run([`${PCAPS}/ue-ack-mtk.pcap`, ...BASE, '--allure-results', allure]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/FAIL\s+mtk-update#1/);
  expect(r.stdout).toMatch(/FAIL\s+\[UE\] mtk\.silence: .*frames 13,14\]/);
  expect(r.stdout).toContain("failed by the UE (mtk.silence)");
  expect(r.stdout).toContain('Verdict: FAIL (1 PASS, 1 FAIL)');
  const results = readdirSync(allure).filter((f) => f.endsWith('-result.json')).map((f) => JSON.parse(readFileSync(join(allure, f), 'utf8')));
  const failed = results.filter((x) => x.status === 'failed');
  expect(failed).toHaveLength(1);
  expect(failed[0].statusDetails.message).toContain('mtk.silence');
  expect(failed[0].statusDetails.trace).toContain('frames 13,14');
});

/** `--json` output: newline-delimited JSON, the procedure instances, then one summary line last. */
function ndjson(stdout: string): { procedures: any[]; summary: any } {
  expect(stdout.endsWith('\n')).toBe(true);
  const records = stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
  expect(records.at(-1).record).toBe('summary');
  expect(records.slice(0, -1).every((r) => r.record === 'procedure')).toBe(true);
  return { procedures: records.slice(0, -1), summary: records.at(-1) };
}

test('--json: newline-delimited verdicts, findings with event ids and frame numbers, a summary line last', async () => {
  const r = await run([`${PCAPS}/bmsc-mikey-before-200.pcap`, ...BASE, '--json', '--no-allure']);
  expect(r.code).toBe(1);
  const { procedures, summary: data } = ndjson(r.stdout);
  expect(data.verdict).toBe('FAIL');
  expect(data.format).toBe('pcap');
  const counted = Object.values(data.instances as Record<string, Record<string, number>>).flatMap((v) => Object.values(v)).reduce((a, b) => a + b, 0);
  expect(counted).toBe(procedures.length);
  const p = procedures.find((x) => x.id === 'msk-request#1');
  expect(p.id).toBe('msk-request#1');
  const f = p.findings.find((x: { check: string; verdict: string }) => x.check === 'order.mikey-after-200' && x.verdict === 'FAIL');
  expect(f.evidence.frames).toEqual([9, 10]);
  expect(f.evidence.events).toHaveLength(2);
  expect(data.checks['order.mikey-after-200'].FAIL).toBe(1);
});

test('without the keys file the MAC checks are INCONC, so the capture does not pass (exit 1)', async () => {
  const r = await run([`${PCAPS}/clean.pcap`, '--profile', `${PCAPS}/profile.yaml`, '--no-allure', '--json']);
  expect(r.code).toBe(1);
  const data = ndjson(r.stdout).summary;
  expect(data.checks['mikey.mac'].INCONC).toBeGreaterThan(0);
  expect(data.checks['mikey.mac'].PASS).toBe(0);
  expect(data.checks['digest.response'].INCONC).toBeGreaterThan(0);
});

test('bad input: exit 2 with one line naming the file and the reason', async () => {
  const dir = tmp();
  const notCapture = join(dir, 'notes.pcap');
  writeFileSync(notCapture, 'this is not a capture file at all');
  const badKeys = join(dir, 'keys.yaml');
  writeFileSync(badKeys, 'ues:\n  - btid: x\n    ksNaf: nothex\n');
  const cases: [string[], RegExp][] = [
    [['missing.pcap', ...BASE], /^mbms-conform analyze: missing\.pcap: no such file$/],
    [[notCapture, ...BASE], new RegExp(`^mbms-conform analyze: ${notCapture.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .+$`)],
    [[`${PCAPS}/clean.pcap`, '--profile', `${PCAPS}/profile.yaml`, '--keys', badKeys], /^mbms-conform analyze: .*keys\.yaml:3: ues\[0\]\.ksNaf: .+$/],
    [[`${PCAPS}/clean.pcap`, '--profile', `${PCAPS}/nope.yaml`], /^mbms-conform analyze: .*nope\.yaml.*$/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run([...args, '--no-allure']);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  }
  const usage = await run([`${PCAPS}/clean.pcap`]);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('--profile <profile.yaml> is required');
});

test('an analysis that cannot finish (its results cannot be written) exits 3 with one line, never 1: CI does not read it as a FAIL', async () => {
  const r = await run([`${PCAPS}/clean.pcap`, ...BASE, '--allure-results', '/dev/null/results']);
  expect(r.code).toBe(3);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mbms-conform analyze: the analysis failed: ENOTDIR: .*\/dev\/null\/results/);
});

test('a damaged capture: a 2 GiB record claim exits 2 at once naming the offset; a capture cut mid-record is judged up to its last whole record with a warning', async () => {
  const dir = tmp();
  const clean = readFileSync(`${PCAPS}/clean.pcap`);
  // Walk the records of the golden capture to find the offset of each (classic pcap, 24-octet header).
  const le = clean.readUInt32LE(0) === 0xa1b2c3d4;
  const offsets: number[] = [];
  for (let o = 24; o + 16 <= clean.length;) { offsets.push(o); o += 16 + (le ? clean.readUInt32LE(o + 8) : clean.readUInt32BE(o + 8)); }
  // Frame 6 claims 0x7fffffff octets, and enough bytes follow that a reader waiting for them would buffer.
  const bogus = Buffer.concat([clean, Buffer.alloc(8 << 20)]);
  if (le) bogus.writeUInt32LE(0x7fffffff, offsets[5]! + 8); else bogus.writeUInt32BE(0x7fffffff, offsets[5]! + 8);
  const bogusPath = join(dir, 'bogus.pcap');
  writeFileSync(bogusPath, bogus);
  const started = performance.now();
  const r = await run([bogusPath, ...BASE, '--no-allure']);
  expect(performance.now() - started).toBeLessThan(15_000);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(`record at offset ${offsets[5]} claims 2147483647 octets`);

  // Cut 7 octets into the last record: every procedure whose messages are whole is judged as before.
  const cutPath = join(dir, 'cut.pcap');
  writeFileSync(cutPath, clean.subarray(0, offsets.at(-1)! + 16 + 7));
  const cut = await run([cutPath, ...BASE, '--no-allure', '--json']);
  expect(cut.stderr).toBe('');
  const { procedures, summary: data } = ndjson(cut.stdout);
  expect(data.truncated).toEqual({ offset: offsets.at(-1), afterFrame: offsets.length - 1, message: expect.stringMatching(/truncated record/) });
  expect(data.frames).toBe(offsets.length - 1);
  expect(procedures.length).toBeGreaterThan(0);
  const text = await run([cutPath, ...BASE, '--no-allure']);
  expect(text.stdout).toContain(`warning: the capture ends inside a record at byte ${offsets.at(-1)}: judged up to frame ${offsets.length - 1}`);
});

test('--reader-thread on reads in a second thread and judges as one thread does; a bad value is exit 2', async () => {
  const [on, off] = await Promise.all([
    run([`${PCAPS}/bmsc-bad-mac.pcap`, ...BASE, '--no-allure', '--json', '--reader-thread', 'on']),
    run([`${PCAPS}/bmsc-bad-mac.pcap`, ...BASE, '--no-allure', '--json', '--reader-thread', 'off']),
  ]);
  expect(on.stderr).toBe('');
  expect(on.code).toBe(1);
  const summary = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
  expect(summary(on.stdout).readerThread).toBe(true);
  expect(summary(off.stdout).readerThread).toBe(false);
  expect({ ...summary(on.stdout), readerThread: false }).toEqual(summary(off.stdout));
  expect(on.stdout.split('\n').slice(0, -2)).toEqual(off.stdout.split('\n').slice(0, -2));
  const bad = await run([`${PCAPS}/clean.pcap`, ...BASE, '--reader-thread', 'maybe']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--reader-thread maybe: on or off');
});
