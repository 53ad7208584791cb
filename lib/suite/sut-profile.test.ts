import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { loadCapabilityStatement, loadSutProfile, workerAddress, workerPort } from './sut-profile.ts';
import { SutProfileError, TriggerError } from './errors.ts';
import { runCase } from './engine.ts';
import { loadSuiteFile } from './loader.ts';
import type { SessionRequest } from './sut.ts';
import { windowMs } from './context.ts';
import { referenceProfile } from '../mbms/index.ts';

const EXAMPLE = fileURLToPath(new URL('../../fixtures/sut-example.yaml', import.meta.url));

test('the example SUT profile loads: capability statement, profile overrides, per-worker addresses and identities', async () => {
  const sut = loadSutProfile(EXAMPLE);
  expect(sut.role).toBe('bmsc');
  expect(sut.embedded).toBe(false);
  expect(sut.capabilities.capabilities['msk-push']).toBe(true);
  expect(sut.profile.timers.deliverMs).toBe(3000);
  expect(sut.profile.http.nonceTtlMs).toBe(30000);
  expect(sut.testerAddress(0)).toBe('127.0.0.10');
  expect(sut.testerAddress(3)).toBe('127.0.0.13');
  // perWorker addresses: every worker keeps the one MIKEY port the BM-SC is configured to send to.
  expect(sut.testerPorts!(0)).toEqual({ httpPort: 0, mikeyPort: 4359 });
  expect(sut.testerPorts!(3)).toEqual({ httpPort: 0, mikeyPort: 4359 });
});

test('worker addresses step the last IPv4 octet and stay in range', () => {
  expect(workerAddress('127.0.0.10', 5, true)).toBe('127.0.0.15');
  expect(workerAddress('127.0.0.10', 5, false)).toBe('127.0.0.10');
  expect(workerAddress('::1', 5, true)).toBe('::1');
  expect(() => workerAddress('127.0.0.250', 10, true)).toThrow(SutProfileError);
});

test('a malformed SUT profile names the file, line and field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sut-'));
  const file = join(dir, 'sut.yaml');
  const text = readFileSync(EXAMPLE, 'utf8').replace('capabilities: ./pics/reference-bmsc.yaml', `capabilities: ${fileURLToPath(new URL('../../fixtures/pics/reference-bmsc.yaml', import.meta.url))}`)
    .replace('  kind: control-api', '  kind: carrier-pigeon');
  writeFileSync(file, text);
  let error: SutProfileError | undefined;
  try { loadSutProfile(file); } catch (e) { error = e as SutProfileError; }
  expect(error).toBeInstanceOf(SutProfileError);
  expect(error!.code).toBe('ERR_SUT_PROFILE');
  expect(error!.location.field).toBe('trigger.kind');
  expect(error!.location.line).toBe(text.split('\n').findIndex((l) => l.includes('carrier-pigeon')) + 1);
  // A capability statement with a typo in a capability name is refused, not ignored.
  const pics = join(dir, 'pics.yaml');
  writeFileSync(pics, 'role: bmsc\nname: x\ncapabilities:\n  msk-request: true\n  msk-push: true\n  solicited-pull: true\n  mtk-update: true\n  msk-pushh: true\n');
  expect(() => loadCapabilityStatement(pics)).toThrow(/unknown field 'msk-pushh'/);
  writeFileSync(pics, 'role: bmsc\nname: x\ncapabilities:\n  msk-request: true\n');
  expect(() => loadCapabilityStatement(pics)).toThrow(/missing required field 'msk-push'/);
});

test('windows come from the profile timers', () => {
  const p = referenceProfile();
  expect(windowMs(p, 'deliver', 'x')).toBe(p.timers.deliverMs);
  expect(windowMs(p, '2*retransmission', 'x')).toBe(2 * p.retransmission.intervalMs);
  expect(windowMs(p, 'retransmissions', 'x')).toBe(p.retransmission.intervalMs * p.retransmission.count + Math.max(p.retransmission.intervalMs, p.timers.ackMs));
  expect(windowMs(p, 1234, 'x')).toBe(1234);
  expect(windowMs(p, undefined, 'silence')).toBe(p.timers.silenceMs);
  expect(() => windowMs(p, 'forever', 'x')).toThrow();
});

const UE_PICS = fileURLToPath(new URL('../../fixtures/pics/reference-ue.yaml', import.meta.url));

function ueProfile(tester: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sut-ue-'));
  const file = join(dir, 'ue.yaml');
  writeFileSync(file, [
    'name: external UE', 'role: ue', `capabilities: ${UE_PICS}`, 'profile: { base: reference }',
    'sut:', '  nafFqdn: bmsc.example.com', '  mikey: { address: 127.0.0.1, port: 4359 }',
    tester,
    'identities:', '  - { btid: "u@bsf.example.com", ksNaf: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" }',
    'keys:', '  subscribed: [{ keyDomainId: 00f110, mskId: "00010001" }]', '  unsubscribed: []',
    'trigger: { kind: none }', '',
  ].join('\n'));
  return file;
}

test('fixed tester ports: base + worker on a shared address, the base port on per-worker addresses', () => {
  const shared = loadSutProfile(ueProfile('tester: { address: 127.0.0.1, httpPort: 18080, mikeyPort: 14000 }'));
  expect(shared.testerPorts!(0)).toEqual({ httpPort: 18080, mikeyPort: 14000 });
  expect(shared.testerPorts!(2)).toEqual({ httpPort: 18082, mikeyPort: 14002 });
  const own = loadSutProfile(ueProfile('tester: { address: 127.0.0.20, perWorker: true, httpPort: 18080 }'));
  expect(own.testerAddress(2)).toBe('127.0.0.22');
  expect(own.testerPorts!(2)).toEqual({ httpPort: 18080, mikeyPort: 0 });
  const unset = loadSutProfile(ueProfile(''));
  expect(unset.testerPorts!(1)).toEqual({ httpPort: 0, mikeyPort: 0 });
  expect(workerPort(0, 5, false)).toBe(0);
  expect(() => workerPort(65535, 1, false)).toThrow(SutProfileError);
});

test('tester.httpPort on a BM-SC under test is refused, naming the field', () => {
  const file = ueProfile('tester: { httpPort: 18080 }');
  writeFileSync(file, readFileSync(file, 'utf8').replace('role: ue', 'role: bmsc').replace(UE_PICS, UE_PICS.replace('reference-ue', 'reference-bmsc'))
    .replace('  mikey: {', '  http: { address: 127.0.0.1, port: 8080 }\n  mikey: {'));
  let error: SutProfileError | undefined;
  try { loadSutProfile(file); } catch (e) { error = e as SutProfileError; }
  expect(error).toBeInstanceOf(SutProfileError);
  expect(error!.location.field).toBe('tester.httpPort');
});

/** A port nobody listens on right now (bound and released; the test binds it again at once). */
function freePort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  }));
}

test('the engine starts the tester BM-SC on the profile\'s ports and tells the session', async () => {
  const [httpPort, mikeyPort] = [await freePort(), await freePort()];
  const sut = loadSutProfile(ueProfile(`tester: { address: 127.0.0.1, httpPort: ${httpPort}, mikeyPort: ${mikeyPort} }`));
  let seen: SessionRequest | undefined;
  // Stop the case at the session: what matters is where the tester BM-SC listens by then.
  // (The profile triggers nothing; the case is let through to its session all the same.)
  const stopped = { ...sut, triggerActions: undefined, open: async (req: SessionRequest) => { seen = req; throw new TriggerError('provision', 'stopped by the test'); } };
  const def = loadSuiteFile(fileURLToPath(new URL('../../suites/ue/6.3.1-msk-request.yaml', import.meta.url))).cases[0]!;
  const result = await runCase(def, { sut: stopped, worker: 0 });
  expect(result.verdict).toBe('INCONC');
  expect(seen?.testerHttp).toEqual({ address: '127.0.0.1', port: httpPort });
  expect(seen?.testerBmscMikey).toEqual({ address: '127.0.0.1', port: mikeyPort });
});

test('shell triggers: every placeholder is substituted shell-quoted; a secret placeholder never shows in the summary', async () => {
  const { ShellAdapter } = await import('./sut.ts');
  const shell = new ShellAdapter({ bootstrap: 'printf "%s %s" {btid} {ksNaf}', 'rotate-msk': 'printf "%s/%s" {keyDomainId} {keyGroup}' }, 5000);
  const ks = 'ab'.repeat(32);
  const boot = await shell.trigger('bootstrap', { btid: "it's@bsf", ksNaf: ks });
  expect(boot.detail).toBe(`it's@bsf ${ks}`); // the command got the values, quoted
  expect(boot.summary).toContain('{ksNaf}');
  expect(boot.summary).not.toContain(ks);
  const rotate = await shell.trigger('rotate-msk', { keyDomainId: '00f110', keyGroup: 1 });
  expect(rotate.detail).toBe('00f110/1');
});

test('the worked shell profile of docs/control-api.md is a valid SUT profile and offers the actions it names', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/control-api.md', import.meta.url)), 'utf8');
  const yaml = /```yaml\n(# yaml-language-server[^\n]*\nname: Vendor BM-SC[\s\S]*?)```/.exec(doc)?.[1];
  expect(yaml, 'the worked profile in docs/control-api.md').toBeDefined();
  const dir = mkdtempSync(join(tmpdir(), 'doc-profile-'));
  const file = join(dir, 'vendor.yaml');
  writeFileSync(file, yaml!.replace('./pics/vendor-bmsc.yaml', fileURLToPath(new URL('../../fixtures/pics/reference-bmsc.yaml', import.meta.url))));
  const sut = loadSutProfile(file);
  expect([...(sut.triggerActions ?? [])].sort()).toEqual(['msk-push', 'mtk-update', 'solicited-pull']);
});
