import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCapabilityStatement, loadSutProfile, workerAddress } from './sut-profile.ts';
import { SutProfileError } from './errors.ts';
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
  expect(sut.testerMikeyPort).toBe(4359);
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
