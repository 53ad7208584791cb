// The reference UE's control API (docs/control-api.md, control-api.schema.json) and its configuration file.
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callControlApi, controlApiValidator, ReferenceConfigError } from '../common/index.ts';
import { referenceProfile } from '../../mbms/index.ts';
import { ReferenceUe } from './ue.ts';
import { loadUeConfig } from './config.ts';
import { TEST_BTID, TEST_KS_NAF, TEST_NAF_FQDN, TestMskServer, UdpPeer } from './test-harness.ts';
import { buildMskMessage } from '../../mikey/index.ts';
import { DOMAIN, RAND } from './fixture.ts';

test('control API: info, bootstrap, msk-request, state, delete-msk, faults — answers match the schema', async () => {
  const profile = referenceProfile();
  const server = new TestMskServer({ profile });
  const bmscUrl = await server.open();
  const ue = new ReferenceUe({
    bmscUrl, nafFqdn: TEST_NAF_FQDN, mikey: { address: '127.0.0.1', port: 0 }, control: { address: '127.0.0.1', port: 0 },
    profile, services: [{ keyDomainId: '00f110', mskIds: ['00010001'] }],
  });
  const { mikey, control } = await ue.start();
  const tester = new UdpPeer();
  await tester.open();
  try {
    const info = await callControlApi(control, 'GET', '/info');
    expect(info.body).toMatchObject({ role: 'ue', apiVersion: 1, endpoints: { mikey, control } });

    const early = await callControlApi(control, 'POST', '/msk-request', {});
    expect([early.status, early.body.error.code]).toEqual([409, 'ERR_CONTROL_NO_CREDENTIALS']);

    expect((await callControlApi(control, 'POST', '/bootstrap', { btid: TEST_BTID, ksNaf: TEST_KS_NAF.toString('hex') })).body).toEqual({ btid: TEST_BTID });
    const result = await callControlApi(control, 'POST', '/msk-request', { keys: [{ keyDomainId: '001-01', mskId: '00010001' }] });
    expect(result.status).toBe(200);
    expect(controlApiValidator('MskRequestResult')(result.body)).toBe(true);
    expect(result.body).toMatchObject({ httpStatus: 200, rspauthValid: true, exchanges: 2, results: [{ keyDomainId: '00f110', mskId: '00010001', status: 200 }] });

    // An MSK delivered over MIKEY shows in GET /state (IDs only, never key values).
    const processed = new Promise((resolve) => ue.once('processed', resolve));
    await tester.send(buildMskMessage({
      muk: TEST_KS_NAF, csbId: 1, counter: 3, rand: RAND, keyDomainId: DOMAIN, mskId: 0x00010001, msk: Buffer.alloc(16, 1), v: false,
      idi: TEST_NAF_FQDN, idr: TEST_BTID, profile: profile.mikey,
    }).bytes, mikey);
    await processed;
    const state = await callControlApi(control, 'GET', '/state');
    expect(controlApiValidator('UeState')(state.body)).toBe(true);
    expect(state.body).toMatchObject({ btid: TEST_BTID, counters: { muk: 3 }, msks: [{ keyDomainId: '00f110', mskId: '00010001' }], acksSent: 0 });
    expect(JSON.stringify(state.body)).not.toContain('01010101');

    const deleted = await callControlApi(control, 'POST', '/delete-msk', { keyDomainId: '001-01' });
    expect(deleted.body).toEqual({ deleted: [{ keyDomainId: '00f110', mskId: '00010001' }] });
    expect((await callControlApi(control, 'GET', '/state')).body.msks).toEqual([]);

    const faults = await callControlApi(control, 'PUT', '/faults', { active: ['ue-no-ack'] });
    expect(faults.body.active).toEqual(['ue-no-ack']);
    expect(faults.body.available.length).toBeGreaterThanOrEqual(12);
    expect(ue.faults.active()).toEqual(['ue-no-ack']);
    const unknown = await callControlApi(control, 'PUT', '/faults', { active: ['ue-nonsense'] });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'ERR_REFERENCE_FAULT']);
    const badBody = await callControlApi(control, 'POST', '/bootstrap', { btid: TEST_BTID });
    expect([badBody.status, badBody.body.error.code]).toEqual([400, 'ERR_CONTROL_SCHEMA']);
  } finally {
    await ue.stop();
    await tester.close();
    await server.close();
  }
});

test('state() shows key values only when profile.secrets.reveal is true', async () => {
  for (const reveal of [false, true]) {
    const profile = referenceProfile();
    profile.secrets.reveal = reveal;
    const ue = new ReferenceUe({ btid: TEST_BTID, ksNaf: TEST_KS_NAF.toString('hex'), bmscUrl: 'http://127.0.0.1:9', nafFqdn: TEST_NAF_FQDN, mikey: { address: '127.0.0.1', port: 0 }, control: null, profile });
    ue.store.installMsk(DOMAIN, 0x00010001, Buffer.alloc(16, 0xab), RAND, 0);
    const [msk] = ue.state().msks;
    expect(msk!.key).toBe(reveal ? 'ab'.repeat(16) : undefined);
  }
});

test('configuration file: YAML with profile overrides loads; errors name file, line and field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ue-config-'));
  const good = join(dir, 'ue.yaml');
  writeFileSync(good, [
    'btid: AbCdEf0123456789@bsf.example.com',
    `ksNaf: ${TEST_KS_NAF.toString('hex')}`,
    'bmscUrl: http://127.0.0.1:4380',
    'nafFqdn: bmsc.example.com',
    'mikey: { address: 127.0.0.1, port: 0 }',
    'profileBase: reference',
    'profile:',
    '  http:',
    '    qop: auth',
    'faults: [ue-no-ack]',
    'services:',
    '  - keyDomainId: 001-01',
    '    mskIds: ["00010001"]',
    '',
  ].join('\n'));
  const config = loadUeConfig(good);
  expect(config.profile!.http.qop).toBe('auth');
  expect(config.profile!.timers.silenceMs).toBe(referenceProfile().timers.silenceMs);
  expect(config.faults).toEqual(['ue-no-ack']);

  const expectError = (name: string, text: string, pattern: RegExp): void => {
    const path = join(dir, name);
    writeFileSync(path, text);
    let caught: unknown;
    try { loadUeConfig(path); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(ReferenceConfigError);
    expect((caught as Error).message).toMatch(pattern);
  };
  const base = 'bmscUrl: http://127.0.0.1:4380\nnafFqdn: bmsc.example.com\n';
  expectError('fault.yaml', `${base}faults:\n  - ue-no-ack\n  - ue-bogus\n`, /fault\.yaml:5: faults\[1\]: .*unknown ue fault 'ue-bogus'/);
  expectError('profile.yaml', `${base}profile:\n  timers:\n    ackMs: 0\n`, /profile\.yaml:5: profile\.timers\.ackMs: must be >= 1/);
  expectError('domain.yaml', `${base}services:\n  - keyDomainId: 00f1\n    mskIds: []\n`, /domain\.yaml:4: services\[0\]\.keyDomainId/);
  expectError('unknown.yaml', `${base}bmsc: x\n`, /unknown\.yaml:3: bmsc: unknown field/);
});

test('replay counters survive a restart when statePath is set (protocol §6.1)', async () => {
  const statePath = join(mkdtempSync(join(tmpdir(), 'ue-state-')), 'ue-state.json');
  const profile = referenceProfile();
  const make = () => new ReferenceUe({
    btid: TEST_BTID, ksNaf: TEST_KS_NAF.toString('hex'), bmscUrl: 'http://127.0.0.1:9', nafFqdn: TEST_NAF_FQDN,
    mikey: { address: '127.0.0.1', port: 0 }, control: null, profile, statePath,
  });
  const message = buildMskMessage({
    muk: TEST_KS_NAF, csbId: 9, counter: 12, rand: RAND, keyDomainId: DOMAIN, mskId: 0x00010001, msk: Buffer.alloc(16, 1), v: false,
    idi: TEST_NAF_FQDN, idr: TEST_BTID, profile: profile.mikey,
  }).bytes;
  const tester = new UdpPeer();
  await tester.open();
  try {
    for (const expected of [undefined, 'replay']) {
      const ue = make();
      const { mikey } = await ue.start();
      const processed = new Promise<{ result: { discarded?: { reason: string } } }>((resolve) => ue.once('processed', resolve));
      await tester.send(message, mikey);
      expect((await processed).result.discarded?.reason).toBe(expected);
      expect(ue.state().counters.muk).toBe(12);
      await ue.stop();
    }
  } finally {
    await tester.close();
  }
});

test('GBA_U (O23): MIKEY under the configured MUK (Ks_int_NAF), Digest password from Ks_NAF', async () => {
  const profile = referenceProfile();
  profile.gba.variant = 'GBA_U';
  const muk = Buffer.alloc(32, 0x42);
  const ue = new ReferenceUe({
    btid: TEST_BTID, ksNaf: TEST_KS_NAF.toString('hex'), muk: muk.toString('hex'), bmscUrl: 'http://127.0.0.1:9', nafFqdn: TEST_NAF_FQDN,
    mikey: { address: '127.0.0.1', port: 0 }, control: null, profile,
  });
  const { mikey } = await ue.start();
  const tester = new UdpPeer();
  await tester.open();
  try {
    const build = (key: Buffer, counter: number) => buildMskMessage({
      muk: key, csbId: counter, counter, rand: RAND, keyDomainId: DOMAIN, mskId: 0x00010001, msk: Buffer.alloc(16, 1), v: false,
      idi: TEST_NAF_FQDN, idr: TEST_BTID, profile: profile.mikey,
    }).bytes;
    const reasons: (string | undefined)[] = [];
    ue.on('processed', (e) => reasons.push(e.result.discarded?.reason));
    const both = new Promise<void>((resolve) => ue.on('processed', () => { if (reasons.length === 2) resolve(); }));
    await tester.send(build(TEST_KS_NAF, 1), mikey);
    await tester.send(build(muk, 2), mikey);
    await both;
    expect(reasons).toEqual(['mac', undefined]);
  } finally {
    await ue.stop();
    await tester.close();
  }
});

test('a profile with NTP timestamps (O7) is refused: the UE keeps 32-bit counters only', () => {
  const profile = referenceProfile();
  profile.mikey.timestamp.type = 'ntp-utc';
  expect(() => new ReferenceUe({ bmscUrl: 'http://127.0.0.1:9', nafFqdn: TEST_NAF_FQDN, profile, control: null })).toThrow(/COUNTER timestamps only/);
});
