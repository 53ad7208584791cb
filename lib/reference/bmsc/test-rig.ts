// Test support of the reference BM-SC's tests: a started BM-SC with a test UE (test-ue.ts), and the few
// exchanges the tests repeat.
import { once } from 'node:events';
import { DigestClient } from '../../digest/index.ts';
import {
  buildVerificationMessage, mikeyProfile, readKeyMessage,
  type KeyMessageReading, type MikeyProfile,
} from '../../mikey/index.ts';
import { mskId, referenceProfile, type MbmsProfile } from '../../mbms/index.ts';
import { ReferenceBmsc, type BmscUser } from './index.ts';
import { TestUdp, mskRequest, postMsk, type Datagram, type HttpReply } from './test-ue.ts';

export const KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
export const OTHER_KS_NAF = Buffer.from('ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
export const BTID = 'AbCdEf0123456789@bsf.example.com';
export const DOMAIN = Buffer.from('00f110', 'hex');
export const NAF = 'bmsc.example.com';
export const MSK_1 = mskId(1, 1);
export const BOUND = 2000; // upper bound on any single wait (reference profile timers are far shorter)

export function testProfile(): MbmsProfile {
  const profile = referenceProfile();
  profile.retransmission = { intervalMs: 100, count: 3, freshTs: true };
  profile.timers.silenceMs = 300; // > 2 retransmission intervals: a retransmission would show
  return profile;
}

export interface Rig {
  bmsc: ReferenceBmsc;
  ue: TestUdp;
  profile: MbmsProfile;
  mikey: MikeyProfile;
  events: { name: string; time: number; data: any }[];
  clock: { now: number };
  close(): Promise<void>;
}

export async function rig(opts: { faults?: string[]; stateFile?: string; ue?: TestUdp; users?: BmscUser[]; clock?: boolean } = {}): Promise<Rig> {
  const ue = opts.ue ?? await TestUdp.open();
  const profile = testProfile();
  const clock = { now: Date.now() };
  const bmsc = new ReferenceBmsc({
    nafFqdn: NAF,
    profile,
    faults: opts.faults ?? [],
    services: [{ keyDomainId: DOMAIN, keyGroup: 1 }, { keyDomainId: DOMAIN, keyGroup: 2 }],
    users: opts.users ?? [{ btid: BTID, ksNaf: KS_NAF, ueAddress: '127.0.0.1', uePort: ue.endpoint.port, subscriptions: [{ keyDomainId: DOMAIN, keyGroups: [1] }] }],
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
    ...(opts.clock ? { clock: () => clock.now } : {}),
  });
  const events: Rig['events'] = [];
  for (const name of ['http-request', 'http-response', 'mikey-out', 'ack-in', 'ack-rejected', 'ack-timeout'] as const) {
    bmsc.on(name, (data: any) => events.push({ name, time: data.time, data }));
  }
  await bmsc.start();
  return {
    bmsc, ue, profile, mikey: mikeyProfile(profile.mikey as any), events, clock,
    async close() { await bmsc.stop(); if (!opts.ue) await ue.close(); },
  };
}

export function read(r: Rig, d: Datagram, psk: Buffer = KS_NAF, rand?: Buffer): KeyMessageReading {
  return readKeyMessage(d.bytes, { psk, ...(rand ? { rand } : {}) }, r.mikey);
}

/**
 * Answers a challenge correctly after its nonce expired (the rig's clock moved past the nonce TTL): the
 * request RFC 2617 §3.2.1 answers with 401 stale=true. Returns the BM-SC's answer.
 */
export async function answerExpiredNonce(r: Rig): Promise<HttpReply> {
  const body = Buffer.from('<x/>');
  const first = await postMsk(r.bmsc.endpoints.http, r.profile, { body });
  const client = new DigestClient({ username: BTID, password: KS_NAF.toString('base64') });
  r.clock.now += r.profile.http.nonceTtlMs + 1;
  const authorization = client.authorize(first.headers.get('www-authenticate')!, { method: 'POST', uri: '/keymanagement?requesttype=msk-request', body });
  return postMsk(r.bmsc.endpoints.http, r.profile, { body, authorization });
}

export function ack(r: Rig, d: Datagram, psk: Buffer = KS_NAF): Buffer {
  return buildVerificationMessage({ received: d.bytes, psk, profile: r.mikey }).bytes;
}

export const waitEvent = <T = any>(r: Rig, name: string) =>
  once(r.bmsc as any, name, { signal: AbortSignal.timeout(BOUND) }).then((args) => args[0] as T);

export async function fullRequest(r: Rig, keys = [{ keyDomainId: DOMAIN, mskId: MSK_1 }]) {
  return mskRequest(r.bmsc.endpoints.http, r.profile, { btid: BTID, ksNaf: KS_NAF, keys });
}
