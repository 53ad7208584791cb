// One test per UE fault (DESIGN.md "Every check can fail"): each fault is switched on alone and its
// deviation is shown on the wire (HTTP request seen by the test server, or UDP datagram seen by the tester).
// The conformant behaviour for the same stimulus is asserted in ue-mikey.test.ts and ue-digest.test.ts.
import { test, expect } from '@playwright/test';
import {
  DataType, decodeMikey, EncrAlg, encodeKeyData, findPayload, KeyDataType, KvType, verifyVerificationMessage, type KemacPayload,
} from '../../mikey/index.ts';
import { checkFaultTable } from '../common/index.ts';
import { DOMAIN, MSK_1, MSK_KEY, startUe, type UeFixture } from './fixture.ts';
import { TEST_KS_NAF } from './test-harness.ts';
import { UE_FAULTS, UE_FAULT_NAMES } from './faults.ts';
import type { TestMskServerOptions } from './test-harness.ts';

const keys = [{ keyDomainId: DOMAIN, mskId: MSK_1 }];
const ackBound = (f: UeFixture): number => f.profile.timers.ackMs * 4;
const httpBound = (f: UeFixture): number => f.profile.timers.pullMs + f.profile.timers.httpMs;

interface FaultCase {
  server?: Omit<TestMskServerOptions, 'profile'>;
  run: (f: UeFixture) => Promise<void>;
}

function tamperMac(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out[out.length - 1] ^= 0x01;
  return out;
}

const cases: Record<string, FaultCase> = {
  'ue-ignore-rspauth': {
    server: { rspauth: '0'.repeat(32), forcedNextnonce: 'Zm9yZ2Vk' },
    run: async (f) => {
      expect(await f.ue.requestMsks(keys)).toMatchObject({ accepted: true, rspauthValid: false });
      await f.ue.requestMsks(keys);
      expect(f.server!.requests[2]!.credentials?.nonce).toBe('Zm9yZ2Vk'); // trusted the unauthenticated nextnonce
    },
  },
  'ue-rebootstrap-on-stale': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      f.server!.expireNonces();
      expect(await f.ue.requestMsks(keys)).toMatchObject({ bootstrapRequired: true, accepted: false });
      expect(f.server!.requests.map((r) => r.outcome)).toEqual(['missing', 'ok', 'stale']); // no retry with the new nonce
    },
  },
  'ue-wrong-nc': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      expect(f.server!.requests[1]!.credentials?.nc).toBe('00000000');
    },
  },
  'ue-wrong-realm': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      expect(f.server!.requests[1]!.credentials?.realm).toBe('3GPP-bootstrapping-digest@bmsc.example.com');
      expect(f.server!.requests[1]!.outcome).toBe('realm-mismatch');
    },
  },
  'ue-ignore-nextnonce': {
    server: { nextnonce: true },
    run: async (f) => {
      await f.ue.requestMsks(keys);
      await f.ue.requestMsks(keys);
      const [, first, next] = f.server!.requests;
      expect(next!.credentials).toMatchObject({ nonce: first!.credentials!.nonce, nc: '00000002' });
    },
  },
  'ue-wrong-digest-uri': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      const r = f.server!.requests[1]!;
      expect(r.target).toBe('/keymanagement?requesttype=msk-request');
      expect(r.credentials?.uri).toBe('/keymanagement');
      expect([r.status, r.outcome]).toEqual([400, 'uri-mismatch']);
    },
  },
  'ue-qop-auth': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      expect(f.server!.requests[1]!.credentials?.qop).toBe('auth');
    },
  },
  'ue-no-user-agent-token': {
    server: {},
    run: async (f) => {
      await f.ue.requestMsks(keys);
      expect(f.server!.requests[0]!.headers['user-agent']).not.toMatch(/3gpp-gba/);
    },
  },
  'ue-no-ack': {
    run: async (f) => {
      const processed = await f.deliver(f.msk({ counter: 1, v: true }));
      expect(processed.result.installed?.kind).toBe('msk');
      // Silence window of the profile: a conformant UE's ACK would have arrived (ue-mikey.test.ts, A-U3).
      await expect(f.tester.waitForDatagrams(1, f.profile.timers.silenceMs)).rejects.toThrow(/timed out/);
    },
  },
  'ue-ack-on-v0': {
    run: async (f) => {
      const built = f.msk({ counter: 1, v: false });
      await f.deliver(built);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      expect(decodeMikey(ack!.bytes).hdr).toMatchObject({ dataType: DataType.PSK_VER, csbId: built.message.hdr.csbId });
    },
  },
  'ue-ack-bad-mac': {
    run: async (f) => {
      const built = f.msk({ counter: 1, v: true });
      await f.deliver(tamperMac(built.bytes));
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      expect(decodeMikey(ack!.bytes).hdr.csbId).toBe(built.message.hdr.csbId);
    },
  },
  'ue-accept-replay': {
    run: async (f) => {
      const built = f.msk({ counter: 1, v: true });
      await f.deliver(built);
      await f.deliver(built);
      const acks = await f.tester.waitForDatagrams(2, ackBound(f));
      expect(acks.map((a) => decodeMikey(a.bytes).hdr.csbId)).toEqual([built.message.hdr.csbId, built.message.hdr.csbId]);
    },
  },
  'ue-counter-before-mac': {
    run: async (f) => {
      await f.deliver(tamperMac(f.msk({ counter: 100, v: true }).bytes));
      await f.deliver(f.msk({ counter: 50, v: true })); // genuine, but now "replayed"
      const barrier = f.msk({ counter: 101, v: true, mskId: 0x00090001 });
      await f.deliver(barrier);
      const [first] = await f.tester.waitForDatagrams(1, ackBound(f));
      expect(decodeMikey(first!.bytes).hdr.csbId).toBe(barrier.message.hdr.csbId); // no ACK for counter 50
    },
  },
  'ue-ack-wrong-csb': {
    run: async (f) => {
      const built = f.msk({ counter: 1, v: true });
      await f.deliver(built);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      const check = verifyVerificationMessage(ack!.bytes, { original: built.message, psk: TEST_KS_NAF }, f.profile.mikey);
      expect(check.csbId).toBe((built.message.hdr.csbId + 1) >>> 0);
      expect(check.csbIdMatches).toBe(false);
    },
  },
  'ue-ack-wrong-counter': {
    run: async (f) => {
      const built = f.msk({ counter: 7, v: true });
      await f.deliver(built);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      const check = verifyVerificationMessage(ack!.bytes, { original: built.message, psk: TEST_KS_NAF }, f.profile.mikey);
      expect([check.counter, check.echoedCounterMatches, check.csbIdMatches]).toEqual([8, false, true]);
    },
  },
  'ue-bad-vmac': {
    run: async (f) => {
      const built = f.msk({ counter: 1, v: true });
      await f.deliver(built);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      const check = verifyVerificationMessage(ack!.bytes, { original: built.message, psk: TEST_KS_NAF }, f.profile.mikey);
      expect(check).toMatchObject({ macValid: false, csbIdMatches: true, echoedCounterMatches: true });
    },
  },
  'ue-accept-null-encryption': {
    run: async (f) => {
      const plain = encodeKeyData([{ kdType: KeyDataType.TGK, kv: KvType.NULL, key: MSK_KEY(9) }]);
      const built = f.msk({ counter: 1, v: true, mutate: (m) => { const k = findPayload(m, 'KEMAC') as KemacPayload; k.encrAlg = EncrAlg.NULL; k.encrData = plain; } });
      await f.deliver(built);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      expect(decodeMikey(ack!.bytes).hdr.csbId).toBe(built.message.hdr.csbId);
    },
  },
  'ue-pull-unauthenticated': {
    server: {},
    run: async (f) => {
      await f.deliver(tamperMac(f.trigger({ counter: 1, v: true }).bytes));
      const [request] = await f.server!.waitForRequests(1, httpBound(f));
      expect(request!.method).toBe('POST');
      expect(f.tester.received).toEqual([]); // pulled, but (rightly) no ACK for the forged trigger
    },
  },
  'ue-pull-replayed': {
    server: {},
    run: async (f) => {
      const trigger = f.trigger({ counter: 1, v: false });
      await f.deliver(trigger);
      await f.ue.idle();
      await f.deliver(trigger);
      const requests = await f.server!.waitForRequests(3, httpBound(f));
      expect(requests.map((r) => r.status)).toEqual([401, 200, 200]); // a second MSK request for the replay
    },
  },
  'ue-ack-mtk': {
    run: async (f) => {
      await f.deliver(f.msk({ counter: 1, v: false }));
      const mtk = f.mtk({ counter: 1, mtkId: 1, v: false });
      await f.deliver(mtk);
      const [ack] = await f.tester.waitForDatagrams(1, ackBound(f));
      expect(decodeMikey(ack!.bytes).hdr).toMatchObject({ dataType: DataType.PSK_VER, csbId: mtk.message.hdr.csbId });
    },
  },
  'ue-sends-err-on-mtk': {
    run: async (f) => {
      await f.deliver(f.msk({ counter: 1, v: false }));
      const mtk = f.mtk({ counter: 1, mtkId: 1 });
      await f.deliver(mtk);
      await f.deliver(mtk); // replay: discarded, and answered with an error message
      const [err] = await f.tester.waitForDatagrams(1, ackBound(f));
      const message = decodeMikey(err!.bytes);
      expect(message.hdr.dataType).toBe(DataType.ERROR);
      expect(findPayload(message, 'ERR')?.errorNo).toBe(1); // Invalid TS
    },
  },
  'ue-no-missed-key-request': {
    server: {},
    run: async (f) => {
      const processed = await f.deliver(f.mtk({ counter: 1, mtkId: 1, mskId: 0x00010007 }));
      expect(processed.result.discarded?.reason).toBe('unknown-msk');
      await f.ue.idle();
      expect(f.server!.requests).toEqual([]); // a conformant UE requests MSK 00010007 (M-U2)
    },
  },
};

test('the UE fault table is well formed, has at least 12 faults, and every fault has a test below', () => {
  expect(() => checkFaultTable(UE_FAULTS)).not.toThrow();
  expect(UE_FAULTS.length).toBeGreaterThanOrEqual(12);
  expect(UE_FAULTS.every((f) => f.role === 'ue' && f.violates.length > 0)).toBe(true);
  expect(Object.keys(cases).sort()).toEqual([...UE_FAULT_NAMES].sort());
});

for (const [name, c] of Object.entries(cases)) {
  test(`fault ${name}: its deviation shows on the wire`, async () => {
    const f = await startUe({ faults: [name], ...(c.server ? { server: c.server } : {}) });
    try {
      expect(f.ue.faults.active()).toEqual([name]);
      await c.run(f);
    } finally {
      await f.close();
    }
  });
}

test('README documents every UE fault', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  for (const name of UE_FAULT_NAMES) expect(readme).toContain(`| \`${name}\` |`);
});
