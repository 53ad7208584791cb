// What the reference UE does with one received MIKEY datagram (protocol §1, §6; RFC 3830 §5.3, §5.4).
// The decision order follows RFC 3830 §5.4 / protocol §6.1: structure, then the replay counter, then the
// MAC; a counter is stored only after a successful MAC check. The result is a list of actions (ACK, error
// message, MSK request) that ReferenceUe carries out on its sockets, so the logic is testable on its own.
import {
  aesCm128, buildVerificationMessage, classifyKeyMessage, DataType, decodeKeyData, decodeMikey, encodeMikey, EncrAlg,
  ErrorNo, findPayload, getKeyIds, MacAlg, MikeyDecodeError, readKeyMessage, timestampT64, TsType, CsIdMapType,
  type KeyData, type KeyMessageKind, type MikeyMessage,
} from '../../mikey/index.ts';
import {
  isTriggerKeyId, keyGroupKey, mskIdFromBytes, mtkIdFromBytes, parseMskId, type MbmsProfile, type MskRequestEntry,
} from '../../mbms/index.ts';
import type { Endpoint, FaultSet } from '../common/index.ts';
import type { UeKeyStore } from './key-store.ts';

/** Why a datagram was dropped; stable strings, counted in GET /state and carried by 'discarded' events. */
export type DiscardReason =
  | 'malformed' | 'data-type' | 'prf' | 'unexpected-payload' | 'sp-with-empty-map' | 'no-kemac' | 'timestamp'
  | 'null-encryption' | 'null-mac' | 'unknown-kind' | 'no-credentials' | 'unknown-key-domain' | 'unknown-msk'
  | 'replay' | 'mac' | 'key-data' | 'stale-key-number' | 'mtk-id-not-newer';

export interface ProcessContext {
  profile: MbmsProfile;
  faults: FaultSet;
  store: UeKeyStore;
  /** Current B-TID and MUK (Ks_NAF under GBA_ME, Ks_int_NAF under GBA_U; protocol §3.4, O23). */
  credentials: { btid: string; muk: Buffer } | undefined;
  /** Key domains the UE is configured for (hex); empty = accept any. */
  knownDomains: ReadonlySet<string>;
  /** Services configured: MSK IDs per domain (hex domain -> MSK IDs). */
  services: ReadonlyMap<string, readonly number[]>;
  /** The last accepted MSK-message datagram and its ACK (for ueDuplicatePolicy 're-ack', O18). */
  lastAccepted?: { bytes: Buffer; ack?: { bytes: Buffer; to: Endpoint } };
  now: number;
}

export type ProcessAction =
  | { kind: 'ack'; bytes: Buffer; to: Endpoint; csbId: number; counter?: number; acknowledges: KeyMessageKind; reAck?: boolean }
  | { kind: 'error-message'; bytes: Buffer; to: Endpoint; errorNo: number }
  | { kind: 'msk-request'; keys: MskRequestEntry[]; reason: 'solicited-pull' | 'missed-key' };

export interface InstalledKey {
  kind: 'msk' | 'mtk';
  keyDomainId: Buffer;
  mskId: number;
  mtkId?: number;
  key: Buffer;
  salt?: Buffer;
  evictedMskId?: number;
}

export interface ProcessResult {
  messageKind: KeyMessageKind;
  message?: MikeyMessage;
  counter?: number;
  csbId?: number;
  v?: boolean;
  macValid?: boolean;
  discarded?: { reason: DiscardReason; detail: string };
  installed?: InstalledKey;
  actions: ProcessAction[];
  /** Set when this datagram became the new `lastAccepted` (an accepted MSK message or trigger). */
  accepted: boolean;
}

const hex = (b: Buffer): string => b.toString('hex');

/** Builds a MIKEY error message (RFC 3830 §6.12, data type 6: HDR, T, ERR) answering `received`. */
function errorMessage(received: MikeyMessage, errorNo: number): Buffer {
  const t = findPayload(received, 'T');
  return encodeMikey({
    hdr: { version: 1, dataType: DataType.ERROR, v: false, prf: 0, csbId: received.hdr.csbId, csIdMapType: CsIdMapType.EMPTY, numCs: 0 },
    payloads: [
      { type: 'T', tsType: t?.tsType ?? TsType.COUNTER, tsValue: t?.tsValue ?? 0n },
      { type: 'ERR', errorNo },
    ],
  });
}

export function processDatagram(bytes: Buffer, from: Endpoint, ctx: ProcessContext): ProcessResult {
  const { profile, faults, store } = ctx;
  const result: ProcessResult = { messageKind: 'unknown', actions: [], accepted: false };
  const discard = (reason: DiscardReason, detail: string): ProcessResult => ({ ...result, discarded: { reason, detail } });

  // --- structure (protocol §6.3, check G-U8) ---
  let message: MikeyMessage;
  try {
    message = decodeMikey(bytes);
  } catch (error) {
    if (error instanceof MikeyDecodeError) return discard('malformed', error.message);
    throw error;
  }
  result.message = message;
  result.csbId = message.hdr.csbId;
  result.v = message.hdr.v;
  if (message.hdr.dataType !== DataType.PSK_INIT) return discard('data-type', `data type ${message.hdr.dataType} is not 0 (pre-shared key)`);
  if ((message.hdr.prf ?? 0) !== 0) return discard('prf', `PRF ${message.hdr.prf} is not MIKEY-1`);
  if (message.payloads.some((p) => p.type === 'V' || p.type === 'ERR')) return discard('unexpected-payload', 'V or ERR payload in an initiator message');
  if ((message.hdr.csIdMapType ?? CsIdMapType.EMPTY) === CsIdMapType.EMPTY && message.payloads.some((p) => p.type === 'SP')) {
    return discard('sp-with-empty-map', 'SP payload with the Empty CS ID map (RFC 4563 §5)');
  }
  const kind = classifyKeyMessage(message, profile.mikey);
  result.messageKind = kind;
  if (kind !== 'msk' && kind !== 'mtk' && kind !== 'trigger') return discard('unknown-kind', 'not an MSK message, MTK message or trigger (Key IDs missing)');
  const t = findPayload(message, 'T');
  const wantedTs = profile.mikey.timestamp.type === 'counter' ? TsType.COUNTER : profile.mikey.timestamp.type === 'ntp' ? TsType.NTP : TsType.NTP_UTC;
  if (!t || t.tsType !== wantedTs) return discard('timestamp', `T payload missing or not of TS type ${wantedTs} (O7)`);
  const counter = Number(t.tsValue);
  result.counter = counter;
  const kemac = findPayload(message, 'KEMAC');
  const triggerWithoutKemac = kind === 'trigger' && profile.mikey.trigger.kemac === 'absent';
  if (!kemac && !triggerWithoutKemac) return discard('no-kemac', 'no KEMAC payload: the message is not authenticated');
  if (kemac && (kemac.macAlg ?? MacAlg.HMAC_SHA1_160) === MacAlg.NULL) return discard('null-mac', 'KEMAC MAC algorithm NULL (protocol §4.7)');
  if (kemac && kemac.encrData.length > 0 && kemac.encrAlg === EncrAlg.NULL && !faults.has('ue-accept-null-encryption')) {
    return discard('null-encryption', 'KEMAC encryption algorithm NULL (protocol §4.7, RFC 3830 §4.2.3)');
  }
  if (kemac && kemac.encrData.length > 0 && kemac.encrAlg !== EncrAlg.AES_CM_128 && kemac.encrAlg !== EncrAlg.NULL) {
    return discard('null-encryption', `KEMAC encryption algorithm ${kemac.encrAlg} is not AES-CM-128`);
  }

  const ids = getKeyIds(message);
  const keyDomainId = ids.keyDomainId ?? Buffer.alloc(3);
  const credentials = ctx.credentials;
  const to = profile.ack.destination === 'configured' && profile.ack.address && profile.ack.port !== undefined
    ? { address: profile.ack.address, port: profile.ack.port } : from;
  // O19: never for MTK messages (only the fault does it); for MSK messages only when the profile allows it.
  const sendErr = (errorNo: number): void => {
    const allowed = kind === 'mtk' ? faults.has('ue-sends-err-on-mtk') : kind === 'msk' && profile.errors.ueSendsErr === 'msk-only';
    if (allowed) result.actions.push({ kind: 'error-message', bytes: errorMessage(message, errorNo), to, errorNo });
  };

  // --- which key protects it, and the replay counter (protocol §6.1) ---
  let psk: Buffer;
  let rand: Buffer | undefined;
  let storeCounter: () => void;
  let replay: boolean;
  let mskId = 0;
  let mtkId: number | undefined;
  if (kind === 'mtk') {
    mskId = mskIdFromBytes(ids.mskId!);
    mtkId = mtkIdFromBytes(ids.mtkId!, ids.mtkId!.length);
    const msk = store.getMsk(keyDomainId, mskId);
    if (!msk) {
      // Missed key update (protocol §1.4, check M-U2): ask the BM-SC for the MSK this MTK needs.
      if (!faults.has('ue-no-missed-key-request') && credentials) {
        result.actions.push({ kind: 'msk-request', keys: [{ keyDomainId, mskId }], reason: 'missed-key' });
      }
      sendErr(ErrorNo.UNSPECIFIED);
      return discard('unknown-msk', `MTK message under MSK ${hex(keyDomainId)}/${hex(ids.mskId!)} which the UE does not hold`);
    }
    psk = msk.key;
    rand = profile.mikey.mtkRandSource === 'empty' ? Buffer.alloc(0) : msk.rand;
    replay = counter <= store.mskCounter(keyDomainId, mskId);
    storeCounter = () => store.setMskCounter(keyDomainId, mskId, Math.max(counter, store.mskCounter(keyDomainId, mskId)));
  } else {
    if (!credentials) return discard('no-credentials', 'no MUK: the UE is not bootstrapped');
    if (kind === 'msk') {
      mskId = mskIdFromBytes(ids.mskId!);
      if (ctx.knownDomains.size > 0 && !ctx.knownDomains.has(hex(keyDomainId)) && !store.msks().some((m) => m.keyDomainId.equals(keyDomainId))) {
        return discard('unknown-key-domain', `Key Domain ID ${hex(keyDomainId)} is not one of the UE's services`);
      }
    }
    psk = credentials.muk;
    replay = counter <= store.mukCounter(credentials.btid);
    storeCounter = () => store.setMukCounter(credentials.btid, Math.max(counter, store.mukCounter(credentials.btid)));
  }
  const replayCheckSkipped = faults.has('ue-accept-replay') || (kind === 'trigger' && faults.has('ue-pull-replayed'));
  if (replay && !replayCheckSkipped) {
    const last = ctx.lastAccepted;
    if (kind !== 'mtk' && profile.ueDuplicatePolicy === 're-ack' && last?.ack && last.bytes.equals(bytes)) {
      // O18 're-ack': a byte-identical duplicate of the accepted message gets the same ACK again.
      result.actions.push({ kind: 'ack', bytes: last.ack.bytes, to: last.ack.to, csbId: message.hdr.csbId, counter, acknowledges: kind, reAck: true });
      return discard('replay', `duplicate of the accepted message (counter ${counter}); ACK repeated per profile`);
    }
    sendErr(ErrorNo.INVALID_TS);
    return discard('replay', `counter ${counter} not above the stored ${kind === 'mtk' ? store.mskCounter(keyDomainId, mskId) : store.mukCounter(credentials!.btid)}`);
  }
  if (faults.has('ue-counter-before-mac')) storeCounter();

  // --- MAC and decryption (protocol §5.5, §5.6) ---
  let keyData: KeyData[] = [];
  let macValid = true;
  let ackRand = rand ?? findPayload(message, 'RAND')?.rand;
  if (kemac) {
    const reading = readKeyMessage(bytes, rand === undefined ? { psk } : { psk, rand }, profile.mikey);
    macValid = reading.macValid;
    result.macValid = macValid;
    ackRand = reading.rand;
    if (!macValid) {
      if (kind === 'trigger' && faults.has('ue-pull-unauthenticated')) {
        const keys = pullKeys(ctx, keyDomainId);
        if (keys.length > 0) result.actions.push({ kind: 'msk-request', keys, reason: 'solicited-pull' });
        return discard('mac', `${reading.error ?? 'MAC mismatch'} (pull started anyway: fault ue-pull-unauthenticated)`);
      }
      if (!faults.has('ue-ack-bad-mac')) {
        sendErr(ErrorNo.AUTH_FAILURE);
        return discard('mac', reading.error ?? 'KEMAC MAC mismatch');
      }
      // Fault: carry on as if the MAC held, decrypting with the derived keys.
      if (reading.keys && kemac.encrData.length > 0) {
        try {
          const plain = kemac.encrAlg === EncrAlg.NULL ? kemac.encrData
            : aesCm128(reading.keys.encrKey, reading.keys.saltKey, message.hdr.csbId, timestampT64(t.tsType, t.tsValue, profile.mikey.ivCounterPadding), kemac.encrData);
          keyData = decodeKeyData(plain);
        } catch {
          keyData = [];
        }
      }
    } else {
      keyData = reading.keyData;
      if (kemac.encrData.length > 0 && keyData.length === 0) return discard('key-data', reading.error ?? 'no key data after decryption');
    }
  }

  // --- install (protocol §6.2) ---
  if (kind === 'msk') {
    const kd = keyData[0];
    if (!kd) {
      storeCounter();
      return discard('key-data', 'MSK message without key data');
    }
    const outcome = store.installMsk(keyDomainId, mskId, kd.key, ackRand ?? Buffer.alloc(0), ctx.now);
    storeCounter();
    if (!outcome.installed) sendErr(ErrorNo.UNSPECIFIED);
    if (!outcome.installed) return discard('stale-key-number', `MSK ${hex(ids.mskId!)} is older than both held MSKs of key group ${keyGroupKey(keyDomainId, mskId)}`);
    result.installed = { kind: 'msk', keyDomainId, mskId, key: kd.key, ...(outcome.evicted ? { evictedMskId: outcome.evicted.mskId } : {}) };
  } else if (kind === 'mtk') {
    const kd = keyData[0];
    if (!kd) {
      storeCounter();
      sendErr(ErrorNo.UNSPECIFIED);
      return discard('key-data', 'MTK message without key data');
    }
    const msk = store.getMsk(keyDomainId, mskId)!;
    const outcome = store.installMtk(msk, mtkId!, kd.key, kd.salt, ctx.now);
    storeCounter();
    if (!outcome.installed) {
      sendErr(ErrorNo.UNSPECIFIED);
      return discard('mtk-id-not-newer', `MTK ID ${mtkId} not above the held ${msk.mtk?.mtkId}`);
    }
    result.installed = { kind: 'mtk', keyDomainId, mskId, mtkId: mtkId!, key: kd.key, ...(kd.salt ? { salt: kd.salt } : {}) };
  } else {
    storeCounter();
  }
  result.accepted = kind !== 'mtk';

  // --- verification message (RFC 3830 §5.3, protocol §1.1, §1.4, O17) ---
  const wantsAck = kind === 'mtk'
    ? faults.has('ue-ack-mtk')
    : (message.hdr.v || faults.has('ue-ack-on-v0')) && !faults.has('ue-no-ack');
  if (wantsAck && ackRand !== undefined) {
    const built = buildVerificationMessage({
      received: message, psk, rand: ackRand, profile: profile.mikey, ...(profile.mikey.verification.timestamp === 'fresh' ? { counter } : {}),
      mutate: (m) => {
        if (faults.has('ue-ack-wrong-csb')) m.hdr.csbId = (m.hdr.csbId + 1) >>> 0;
        const ackT = findPayload(m, 'T');
        if (ackT && faults.has('ue-ack-wrong-counter')) ackT.tsValue += 1n;
      },
    });
    let ack = built.bytes;
    if (faults.has('ue-bad-vmac')) {
      ack = Buffer.from(ack);
      ack[ack.length - 1] ^= 0x01;
    }
    result.actions.push({ kind: 'ack', bytes: ack, to, csbId: built.message.hdr.csbId, counter: Number(findPayload(built.message, 'T')?.tsValue ?? 0n), acknowledges: kind });
  }

  // --- solicited pull (protocol §1.3): only after MAC and replay checks passed ---
  if (kind === 'trigger') {
    const keys = pullKeys(ctx, keyDomainId);
    if (keys.length > 0) result.actions.push({ kind: 'msk-request', keys, reason: 'solicited-pull' });
  }
  return result;
}

/**
 * What the UE requests after a trigger (O20): the trigger's Key Domain (or every known one when the
 * trigger's is zero or the profile says 'all'), and per domain the MSKs it holds or is configured for
 * ('held'), or MSK ID <group>0000 per key group ('current').
 */
export function pullKeys(ctx: Pick<ProcessContext, 'profile' | 'store' | 'services'>, triggerDomain: Buffer): MskRequestEntry[] {
  const { profile, store, services } = ctx;
  const held = store.msks();
  const domains = new Set<string>([...services.keys(), ...held.map((m) => hex(m.keyDomainId))]);
  const wanted = profile.solicitedPull.requestDomain === 'trigger' && !isTriggerKeyId(triggerDomain)
    ? [hex(triggerDomain)] : [...domains];
  const out: MskRequestEntry[] = [];
  for (const domainHex of wanted) {
    const domain = Buffer.from(domainHex, 'hex');
    const ids = new Set<number>([...(services.get(domainHex) ?? []), ...held.filter((m) => m.keyDomainId.equals(domain)).map((m) => m.mskId)]);
    if (profile.solicitedPull.requestMsks === 'current') {
      const groups = new Set([...ids].map((id) => parseMskId(id).group));
      // O3: the current MSK of each group as Key Number 0, or of them all as MSK ID 0x00000000.
      if (profile.keyIds.currentMsk === 'all-zero') out.push({ keyDomainId: domain, mskId: 0 });
      else for (const group of groups) out.push({ keyDomainId: domain, mskId: (group * 0x10000) >>> 0 });
    } else {
      for (const id of [...ids].sort((a, b) => a - b)) out.push({ keyDomainId: domain, mskId: id });
    }
  }
  return out;
}
