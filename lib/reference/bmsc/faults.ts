// Faults of the reference BM-SC: each one deviation from TS 33.246 clause 6.3 / RFC 2617 / RFC 3830 that a
// BM-SC-under-test case must catch (DESIGN.md "Every check can fail"). Reference section numbers (§n.n)
// point into the project's protocol notes (docs/protocol.md).
//
// One table says everything about a fault: what it does, the clause it violates, and the hook it changes.
// A hook is one decision of the BM-SC (the realm it challenges with, the COUNTER of the next message, whether
// an ACK is taken, ...): the BM-SC makes the conformant decision and hands it to BmscFaultHooks.apply, which
// runs the active faults of that hook over it in table order. A fault's `apply` returns the deviated value,
// or undefined where it does not apply (the decision stands and the fault is not named on the message). The
// BM-SC's logic never asks whether a fault is active.
import { randomBytes } from 'node:crypto';
import { formatAuthenticationInfo, parseAuthenticationInfo, type DigestServer, type DigestVerifyResult } from '../../digest/index.ts';
import {
  EncrAlg, KeyIdType, KvType, encodeKeyData, kdTypeCode, type ExtPayload, type KemacPayload, type MikeyMessage, type MikeyProfile,
} from '../../mikey/index.ts';
import { mskIdToBytes } from '../../mbms/index.ts';
import type { FaultDefinition, FaultSet } from '../common/index.ts';

/** Every hook: [the conformant decision, what the faults may look at]. */
export interface BmscHookTypes {
  /** Realm of the Digest challenge (TS 24.109 §5.2: "3GPP-bootstrapping@<NAF FQDN>"). */
  challengeRealm: [realm: string, ctx: { nafFqdn: string }];
  /** Whether an MSK request without Authorization is challenged (6.3.1, RFC 2617 §3.2.1). */
  authenticate: [authenticate: boolean, ctx: Record<string, never>];
  /** The Digest verification of a request (RFC 2617 §3.2.2). */
  digestResult: [result: DigestVerifyResult, ctx: {
    digest: DigestServer; request: Parameters<DigestServer['verify']>[0]; knownUser: (btid: string) => boolean;
  }];
  /** Authentication-Info of the 200 OK (RFC 2617 §3.2.3); null = no header. */
  authenticationInfo: [value: string | null, ctx: Record<string, never>];
  /** Whether the request's header fields are acceptable (RFC 9110 §5.1: unrecognized fields are ignored). */
  acceptHeaders: [accept: boolean, ctx: { names: string[] }];
  /** Whether the user may have an MSK of this key group (6.3.1, per-MSK authorisation). */
  authorised: [authorised: boolean, ctx: Record<string, never>];
  /** Whether the MSK messages leave before the 200 OK is written (6.3.1: after). */
  mikeyBeforeResponse: [before: boolean, ctx: Record<string, never>];
  /** Octets of a MIKEY message as sent (RFC 3830 §5.2: the MAC covers them). */
  messageBytes: [bytes: Buffer, ctx: Record<string, never>];
  /** A key message before encoding (RFC 3830 §4.2.3: the key is encrypted). */
  keyMessage: [message: MikeyMessage, ctx: { kind: 'msk' | 'mtk'; key: Buffer; profile: MikeyProfile }];
  /** RAND of an MSK message (the MSK's RAND, at least 128 bits: RFC 3830 §6.11, protocol §5.3). */
  mskRand: [rand: Buffer, ctx: Record<string, never>];
  /** MSK ID in the EXT Key ID payload (RFC 4563 §4: the MSK carried). */
  extMskId: [mskId: number, ctx: Record<string, never>];
  /** COUNTER of the next message to a MUK or under an MSK (RFC 3830 §5.3: strictly increasing). */
  counter: [counter: number, ctx: { last: number | undefined; next: () => number }];
  /** Whether an unacknowledged V=1 message is retransmitted (profile O18). */
  retransmit: [retransmit: boolean, ctx: Record<string, never>];
  /** Whether a valid ACK ends the retransmissions (protocol §1.2). */
  stopOnAck: [stop: boolean, ctx: Record<string, never>];
  /** Whether a verification message is taken as the ACK (RFC 3830 §5.2, §6.9: only when it verifies). */
  acceptAck: [valid: boolean, ctx: Record<string, never>];
  /** A solicited-pull trigger before encoding (6.3.2.1: Key IDs 0x0). */
  triggerMessage: [message: MikeyMessage, ctx: { currentMskId: number | undefined }];
  /** V flag of MTK messages (6.3.3: no MIKEY ACK). */
  mtkV: [v: boolean, ctx: Record<string, never>];
  /** CSB ID of the MTK messages of an MSK (profile O10: fixed per MSK, or drawn per message). */
  mtkCsbId: [csbId: number, ctx: Record<string, never>];
  /** Whether the next MTK keeps the current MTK ID (protocol §6.2: it increases). */
  repeatMtkId: [repeat: boolean, ctx: { mtkId: number }];
}
export type BmscHook = keyof BmscHookTypes;

export interface BmscFault<H extends BmscHook = BmscHook> extends FaultDefinition {
  readonly hook: H;
  /** The deviated decision, or undefined where the fault does not apply. */
  readonly apply: (...args: BmscHookTypes[H]) => BmscHookTypes[H][0] | undefined;
}

/** Header fields an MSK request uses (6.3.1, RFC 2617, RFC 9110/9112): bmsc-reject-unknown-header refuses any other. */
const MSK_REQUEST_HEADERS = new Set(['host', 'authorization', 'content-type', 'content-length', 'user-agent', 'connection', 'accept', 'accept-encoding', 'transfer-encoding', 'expect']);

const fault = <H extends BmscHook>(f: BmscFault<H> & { role: 'bmsc' }): BmscFault => f as unknown as BmscFault;

export const BMSC_FAULTS: readonly BmscFault[] = Object.freeze([
  // --- HTTP Digest on the MSK request (6.3.1, protocol §2, §3) ---
  fault({
    name: 'bmsc-wrong-realm', role: 'bmsc', procedure: 'msk-request',
    description: 'challenges with realm "<NAF FQDN>" instead of "3GPP-bootstrapping@<NAF FQDN>"',
    violates: 'TS 24.109 §5.2 / protocol §3.3 (GBA realm prefix, check A-B1)',
    hook: 'challengeRealm', apply: (_realm, { nafFqdn }) => nafFqdn,
  }),
  fault({
    name: 'bmsc-no-challenge', role: 'bmsc', procedure: 'msk-request',
    description: 'serves an MSK request without Authorization (no 401 challenge), taking the user from the source address',
    violates: 'TS 33.246 §6.3.1 (Digest authentication with GBA credentials) / RFC 2617 §3.2.1 (check A-B1)',
    hook: 'authenticate', apply: () => false,
  }),
  fault({
    name: 'bmsc-accept-wrong-digest', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request whose Digest response does not verify (wrong password, or auth-int body tampered after signing)',
    violates: 'RFC 2617 §3.2.2 (response must be checked; checks A-B6, A-B11)',
    hook: 'digestResult', apply: (r, { knownUser }) => r.outcome === 'bad-response' && r.credentials && knownUser(r.credentials.username)
      ? { ...r, outcome: 'ok', status: 200, reason: 'accepted despite a wrong digest (fault)' } : undefined,
  }),
  fault({
    name: 'bmsc-accept-replayed-nc', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request that repeats a nonce-count already used with the same nonce',
    violates: 'RFC 2617 §3.2.2 (nc replay detection, check A-B9)',
    hook: 'digestResult', apply: (r) => r.outcome === 'replay' ? { ...r, outcome: 'ok', status: 200, reason: 'accepted a replayed nc (fault)' } : undefined,
  }),
  fault({
    name: 'bmsc-ignore-stale', role: 'bmsc', procedure: 'msk-request',
    description: 'answers a correct response on an expired nonce with 401 without stale=true',
    violates: 'RFC 2617 §3.2.1 (stale flag, check A-B8)',
    hook: 'digestResult', apply: (r, { digest }) => r.outcome === 'stale' ? { ...r, wwwAuthenticate: digest.challenge() } : undefined,
  }),
  fault({
    name: 'bmsc-uri-not-checked', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request whose Digest uri differs from the Request-URI instead of answering 400',
    violates: 'RFC 2617 §3.2.2.5 (digest-uri must match, check A-B10)',
    hook: 'digestResult', apply: (r, { digest, request }) => r.outcome === 'uri-mismatch' && r.credentials
      ? digest.verify({ ...request, uri: r.credentials.uri }) : undefined,
  }),
  fault({
    name: 'bmsc-no-auth-info', role: 'bmsc', procedure: 'msk-request',
    description: 'sends the 200 OK without an Authentication-Info header',
    violates: 'TS 33.246 §6.3.1 (200 OK with Authentication-Info) / RFC 2617 §3.2.3 (check A-B2)',
    hook: 'authenticationInfo', apply: () => null,
  }),
  fault({
    name: 'bmsc-wrong-rspauth', role: 'bmsc', procedure: 'msk-request',
    description: 'sends an Authentication-Info rspauth that does not match the response body (one hex digit changed)',
    violates: 'RFC 2617 §3.2.3 (rspauth over the response, auth-int body, check A-B2)',
    hook: 'authenticationInfo', apply: (value) => value === null ? undefined : changeRspauth(value),
  }),
  fault({
    name: 'bmsc-reject-unknown-header', role: 'bmsc', procedure: 'msk-request',
    description: 'answers 400 to an MSK request carrying a header field an MSK request does not need',
    violates: 'RFC 9110 §5.1 (recipients ignore unrecognized header fields)',
    hook: 'acceptHeaders', apply: (accept, { names }) => accept && names.some((n) => !MSK_REQUEST_HEADERS.has(n.toLowerCase())) ? false : undefined,
  }),
  fault({
    name: 'bmsc-grant-unsubscribed', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push'],
    description: 'grants (status success and an MSK message) an MSK of a key group the user is not subscribed to, and pushes a new MSK of a group to its users who are not subscribed to it as well',
    violates: 'TS 33.246 §6.3.1 (BM-SC authorises the user per MSK; check A-B12)',
    hook: 'authorised', apply: (authorised) => authorised ? undefined : true,
  }),
  fault({
    name: 'bmsc-mikey-before-200', role: 'bmsc', procedure: 'msk-request',
    description: 'sends the MIKEY MSK message before writing the 200 OK',
    violates: 'TS 33.246 §6.3.1 ("if the key request ... resulted to success, the BM-SC sends MIKEY"), protocol §1.1',
    hook: 'mikeyBeforeResponse', apply: () => true,
  }),
  // --- MIKEY MSK messages (6.3.1 step 5, 6.3.2.1, protocol §4, §5, §6) ---
  fault({
    name: 'bmsc-bad-mac', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push', 'solicited-pull', 'mtk-update'],
    description: 'sends MIKEY messages whose KEMAC MAC is wrong (last octet changed)',
    violates: 'RFC 3830 §5.2, §6.2 (MAC over the message with the derived auth key, check A-B4)',
    hook: 'messageBytes', apply: (bytes) => { const b = Buffer.from(bytes); b[b.length - 1]! ^= 0x01; return b; },
  }),
  fault({
    name: 'bmsc-null-encryption', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push', 'mtk-update'],
    description: 'sends the key in a KEMAC with encryption algorithm NULL (key in clear, MAC still valid)',
    violates: 'RFC 3830 §4.2.3 (NULL only on an otherwise secured carrier), protocol §4.7 (check G-B2)',
    hook: 'keyMessage', apply: (m, { kind, key, profile }) => nullEncryption(m, kind, key, profile),
  }),
  fault({
    name: 'bmsc-short-rand', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push'],
    description: 'sends MSK messages with an 8-octet RAND',
    violates: 'RFC 3830 §6.11 (RAND SHOULD be at least 128 bits), protocol §7.1 G-B2',
    hook: 'mskRand', apply: (rand) => rand.subarray(0, 8),
  }),
  fault({
    name: 'bmsc-wrong-key-ids', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push'],
    description: 'puts an MSK ID one Key Number higher than the delivered MSK in the EXT Key ID payload',
    violates: 'RFC 4563 §4, TS 33.246 §6.3.1 (EXT key IDs identify the key carried; check A-B4)',
    hook: 'extMskId', apply: (mskId) => mskId + 1,
  }),
  fault({
    name: 'bmsc-fresh-rand-per-message', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'draws a new RAND for every MSK message, so UEs derive different MTK-message keys from the same MSK',
    violates: 'protocol §5.3 (the RAND belongs to the MSK; MTK delivery to every UE, O15)',
    hook: 'mskRand', apply: (rand) => randomBytes(rand.length),
  }),
  fault({
    name: 'bmsc-reuse-counter', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'reuses the previous COUNTER value for the next MIKEY message to the same MUK (or MSK)',
    violates: 'RFC 3830 §5.3, §6.6; protocol §6.1 (counter per MUK / per MSK strictly increasing)',
    hook: 'counter', apply: (_counter, { last }) => last,
  }),
  fault({
    name: 'bmsc-decreasing-counter', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'sends each next MIKEY message to the same MUK (or MSK) with a COUNTER one lower than the previous one',
    violates: 'RFC 3830 §5.3; protocol §6.1 (counter per MUK / per MSK strictly increasing)',
    hook: 'counter', apply: (counter, { last, next }) => decreasingCounter(counter, last, next),
  }),
  // --- ACK handling and retransmission (protocol §1.2, §6.1, O18) ---
  fault({
    name: 'bmsc-never-retransmit', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'never retransmits an MSK message with V=1 that was not acknowledged',
    violates: 'protocol §1.2 and §9 O18 (retransmission policy of the profile, check P-B2)',
    hook: 'retransmit', apply: () => false,
  }),
  fault({
    name: 'bmsc-retransmit-after-ack', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'keeps retransmitting an MSK message after a valid verification message arrived',
    violates: 'protocol §1.2, §9 O18 (stop after ACK, check A-B5)',
    hook: 'stopOnAck', apply: () => false,
  }),
  fault({
    name: 'bmsc-accept-bad-ack', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'takes a verification message whose V MAC does not verify as the ACK (stops retransmitting)',
    violates: 'RFC 3830 §5.2, §6.9 (verification MAC), protocol §6.3 (check G-B1)',
    hook: 'acceptAck', apply: (valid) => valid ? undefined : true,
  }),
  // --- Solicited pull and MTK update ---
  fault({
    name: 'bmsc-trigger-nonzero-ids', role: 'bmsc', procedure: 'solicited-pull',
    description: 'sends the solicited-pull trigger with the current MSK ID in the EXT payload instead of 0x0',
    violates: 'TS 33.246 §6.3.2.1 push solicited pull ("key IDs ... set to 0x0"), protocol §1.3 (check S-B1)',
    hook: 'triggerMessage', apply: (m, { currentMskId }) => currentMskId === undefined ? undefined : nonZeroTriggerIds(m, currentMskId),
  }),
  fault({
    name: 'bmsc-mtk-with-v', role: 'bmsc', procedure: 'mtk-update',
    description: 'sends MTK messages with the V flag set (asks multicast receivers for an ACK)',
    violates: 'TS 33.246 §6.3.3 ("the MIKEY ACK is not used"), protocol §1.4 (check M-B1)',
    hook: 'mtkV', apply: () => true,
  }),
  fault({
    name: 'bmsc-repeat-mtk-id', role: 'bmsc', procedure: 'mtk-update',
    description: 'sends a new MTK under the same MTK ID as the previous one',
    violates: 'protocol §6.2, §9 O21 (MTK ID strictly increasing per MSK, check M-B1)',
    hook: 'repeatMtkId', apply: (_repeat, { mtkId }) => mtkId > 0 ? true : undefined,
  }),
  fault({
    name: 'bmsc-mtk-csb-per-message', role: 'bmsc', procedure: 'mtk-update',
    description: 'draws a new CSB ID for every MTK message although the profile fixes one per MSK',
    violates: 'RFC 3830 §6.1, profile O10 fixed-per-msk (check M-B1)',
    hook: 'mtkCsbId', apply: (csbId) => (csbId + 1 + randomBytes(2).readUInt16BE(0)) >>> 0,
  }),
]);

/** The active faults of a running BM-SC, by hook; `apply` is the one place a fault changes a decision. */
export class BmscFaultHooks {
  #byHook = new Map<BmscHook, BmscFault[]>();
  #revision = -1;

  constructor(readonly faults: FaultSet) {}

  /** The active faults of `hook` in table order, derived again whenever the active set changed. */
  #active(hook: BmscHook): BmscFault[] | undefined {
    if (this.#revision !== this.faults.revision) {
      const active = new Set(this.faults.active());
      this.#byHook.clear();
      for (const f of BMSC_FAULTS) {
        if (!active.has(f.name)) continue;
        const list = this.#byHook.get(f.hook) ?? [];
        list.push(f);
        this.#byHook.set(f.hook, list);
      }
      this.#revision = this.faults.revision;
    }
    return this.#byHook.get(hook);
  }

  /** The decision after the active faults of `hook`, and the names of those that changed it. */
  apply<H extends BmscHook>(hook: H, ...[value, ctx]: BmscHookTypes[H]): { value: BmscHookTypes[H][0]; applied: string[] } {
    const faults = this.#active(hook);
    if (!faults) return { value, applied: [] };
    const applied: string[] = [];
    let v = value;
    for (const f of faults) {
      const changed = (f.apply as (...args: BmscHookTypes[H]) => BmscHookTypes[H][0] | undefined)(...([v, ctx] as BmscHookTypes[H]));
      if (changed !== undefined) { v = changed; applied.push(f.name); }
    }
    return { value: v, applied };
  }

  /** The decision after the active faults of `hook` (when the caller does not name the faults on a message). */
  value<H extends BmscHook>(hook: H, ...args: BmscHookTypes[H]): BmscHookTypes[H][0] {
    return this.apply(hook, ...args).value;
  }
}

// ---- what the faults do to a message ----------------------------------------------------------------------------

/** bmsc-wrong-rspauth: one hex digit of rspauth changed. */
function changeRspauth(value: string): string {
  const info = parseAuthenticationInfo(value);
  const r = info.rspauth ?? '';
  info.rspauth = `${r.slice(0, -1)}${r.endsWith('0') ? '1' : '0'}`;
  return formatAuthenticationInfo(info);
}

/** bmsc-decreasing-counter: one below the last; the first starts high enough to decrease a few times without reaching 0. */
function decreasingCounter(counter: number, last: number | undefined, next: () => number): number {
  if (last !== undefined && last > 0) return last - 1;
  let c = counter;
  for (let i = 0; i < 7; i++) c = next();
  return c;
}

/** bmsc-null-encryption: the key data in clear (encryption NULL, RFC 3830 §4.2.3); the MAC still covers it. */
function nullEncryption(m: MikeyMessage, kind: 'msk' | 'mtk', key: Buffer, profile: MikeyProfile): MikeyMessage | undefined {
  const kemac = m.payloads.find((p): p is KemacPayload => p.type === 'KEMAC');
  if (!kemac) return undefined;
  const kd = kind === 'msk' ? profile.keyData.msk : profile.keyData.mtk;
  kemac.encrAlg = EncrAlg.NULL;
  kemac.encrData = encodeKeyData([{ kdType: kdTypeCode[kd.type], kv: KvType.NULL, key }]);
  kemac.length = undefined;
  return m;
}

/** bmsc-trigger-nonzero-ids: the current MSK ID in the trigger's Key ID payload instead of 0x0. */
function nonZeroTriggerIds(m: MikeyMessage, currentMskId: number): MikeyMessage | undefined {
  const ext = m.payloads.find((p): p is ExtPayload => p.type === 'EXT');
  const id = ext?.keyIds?.find((k) => k.idType === KeyIdType.MSK_ID);
  if (!ext || !id) return undefined;
  id.value = mskIdToBytes(currentMskId);
  id.length = undefined;
  ext.length = undefined;
  return m;
}
