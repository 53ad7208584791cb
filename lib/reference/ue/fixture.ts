// Shared setup of the reference UE's unit tests: a started ReferenceUe on ephemeral loopback ports, a tester
// UDP peer, an optional test MSK server, and builders for the MIKEY messages a BM-SC would send.
import { randomBytes } from 'node:crypto';
import { buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger, type BuiltMessage, type MikeyMessage } from '../../mikey/index.ts';
import { keyDomainIdFromPlmn, referenceProfile, type MbmsProfile } from '../../mbms/index.ts';
import { ReferenceUe } from './ue.ts';
import { TEST_BTID, TEST_KS_NAF, TEST_NAF_FQDN, TestMskServer, UdpPeer, type TestMskServerOptions } from './test-harness.ts';
import type { ProcessedEvent } from './ue.ts';

export const DOMAIN = keyDomainIdFromPlmn('001', '01');
export const MSK_1 = 0x00010001;
export const MSK_KEY = (n: number): Buffer => Buffer.alloc(16, n);
export const RAND = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex');

export interface UeFixture {
  ue: ReferenceUe;
  tester: UdpPeer;
  server?: TestMskServer;
  profile: MbmsProfile;
  /** MSK message under the UE's MUK. */
  msk(opts: { counter: number; mskId?: number; key?: Buffer; v?: boolean; csbId?: number; mutate?: (m: MikeyMessage) => void; muk?: Buffer }): BuiltMessage;
  /** MTK message under an MSK (RAND of the MSK message, O15). */
  mtk(opts: { counter: number; mskId?: number; mtkId: number; msk?: Buffer; v?: boolean; mutate?: (m: MikeyMessage) => void }): BuiltMessage;
  trigger(opts: { counter: number; v?: boolean; mutate?: (m: MikeyMessage) => void }): BuiltMessage;
  /** Sends to the UE and resolves when the UE has processed it (its replies have left). */
  deliver(message: BuiltMessage | Buffer): Promise<ProcessedEvent>;
  close(): Promise<void>;
}

export async function startUe(options: { faults?: string[]; profile?: MbmsProfile; server?: Omit<TestMskServerOptions, 'profile'> | false; nafFqdn?: string; ksNaf?: Buffer } = {}): Promise<UeFixture> {
  const profile = options.profile ?? referenceProfile();
  let server: TestMskServer | undefined;
  let bmscUrl = 'http://127.0.0.1:9';
  if (options.server !== false && options.server !== undefined) {
    server = new TestMskServer({ profile, ...options.server });
    bmscUrl = await server.open();
  }
  const ue = new ReferenceUe({
    btid: TEST_BTID, ksNaf: (options.ksNaf ?? TEST_KS_NAF).toString('hex'), bmscUrl, nafFqdn: options.nafFqdn ?? TEST_NAF_FQDN,
    mikey: { address: '127.0.0.1', port: 0 }, control: null, profile, faults: options.faults ?? [],
    services: [{ keyDomainId: '001-01', mskIds: ['00010001'] }],
  });
  const { mikey } = await ue.start();
  const tester = new UdpPeer();
  await tester.open();
  let csb = 0x11223344;
  const fixture: UeFixture = {
    ue, tester, profile, ...(server ? { server } : {}),
    msk: (o) => buildMskMessage({
      muk: o.muk ?? TEST_KS_NAF, csbId: o.csbId ?? csb++, counter: o.counter, rand: RAND, keyDomainId: DOMAIN, mskId: o.mskId ?? MSK_1,
      msk: o.key ?? MSK_KEY(1), v: o.v ?? true, idi: TEST_NAF_FQDN, idr: TEST_BTID, profile: profile.mikey, ...(o.mutate ? { mutate: o.mutate } : {}),
    }),
    mtk: (o) => buildMtkMessage({
      msk: o.msk ?? MSK_KEY(1), mskRand: RAND, csbId: 0x55667788, counter: o.counter, keyDomainId: DOMAIN, mskId: o.mskId ?? MSK_1,
      mtkId: o.mtkId, mtk: randomBytes(16), v: o.v ?? false, profile: profile.mikey, ...(o.mutate ? { mutate: o.mutate } : {}),
    }),
    trigger: (o) => buildSolicitedPullTrigger({
      muk: TEST_KS_NAF, csbId: csb++, counter: o.counter, rand: randomBytes(16), keyDomainId: DOMAIN, v: o.v ?? true,
      idi: TEST_NAF_FQDN, idr: TEST_BTID, profile: profile.mikey, ...(o.mutate ? { mutate: o.mutate } : {}),
    }),
    deliver: async (message) => {
      const bytes = Buffer.isBuffer(message) ? message : message.bytes;
      const processed = new Promise<ProcessedEvent>((resolve) => {
        const on = (e: ProcessedEvent): void => {
          if (e.from.port === tester.endpoint.port) { ue.off('processed', on); resolve(e); }
        };
        ue.on('processed', on);
      });
      await tester.send(bytes, mikey);
      return processed;
    },
    close: async () => {
      await ue.stop();
      await tester.close();
      await server?.close();
    },
  };
  return fixture;
}
