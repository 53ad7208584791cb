// Verifiers for MIKEY messages received from a SUT (protocol §4, §5, §6, checks A-B4, P-B*, S-B1, M-B1,
// G-B2 and the ACK checks of A-U3). Everything is recomputed from lib/mikey primitives: strict decode, PRF
// key derivation (RFC 3830 §4.1.4), KEMAC MAC (§5.2) and AES-CM (§4.2.3) — never with the message readers
// the references build on, and never with lib/reference (DESIGN.md: checks never reuse the code under check).

import {
  CsIdMapType, DataType, EncrAlg, KeyIdType, MacAlg, MikeyDecodeError, TsType,
  constantTimeEqual, decodeKeyData, decodeMikey, findPayload, findPayloads, getKeyIds, messageKeyring,
  timestampT64, verificationMac,
  type KeyData, type MikeyMessage, type MikeyProfile, type KeyIds,
} from '../../mikey/index.ts';

/** One judged property of a message: a pass or a failure with expected vs actual. */
export interface CheckOutcome {
  check: string;
  ok: boolean;
  message: string;
  expected?: unknown;
  actual?: unknown;
  /** A failed check that is not evidence against the SUT (the tester was starved): INCONC, not FAIL. */
  testerStarved?: { wallMs: number; cpuMs: number; lagMs: number; longestStallMs: number };
}

export type ReceivedKind = 'msk' | 'mtk' | 'trigger' | 'ack' | 'error' | 'undecodable';

const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');
const isZero = (b: Buffer | undefined): boolean => b !== undefined && b.every((x) => x === 0);

/**
 * What a datagram looks like, for matching it to an expectation (not a verdict): data type 1 = ACK,
 * 6 = error; data type 0 with a non-zero MTK ID = MTK message; with all key IDs zero = solicited-pull trigger;
 * otherwise an MSK message.
 */
export function classifyDatagram(bytes: Buffer): { kind: ReceivedKind; message?: MikeyMessage; keyIds?: KeyIds; error?: MikeyDecodeError } {
  let message: MikeyMessage;
  try {
    message = decodeMikey(bytes);
  } catch (e) {
    if (e instanceof MikeyDecodeError) return { kind: 'undecodable', error: e };
    throw e;
  }
  const keyIds = getKeyIds(message);
  if (message.hdr.dataType === DataType.PSK_VER) return { kind: 'ack', message, keyIds };
  if (message.hdr.dataType === DataType.ERROR) return { kind: 'error', message, keyIds };
  if (keyIds.mtkId !== undefined && !isZero(keyIds.mtkId)) return { kind: 'mtk', message, keyIds };
  if (isZero(keyIds.mskId) || keyIds.mskId === undefined) return { kind: 'trigger', message, keyIds };
  return { kind: 'msk', message, keyIds };
}

export interface KeyMessageExpectation {
  kind: 'msk' | 'mtk' | 'trigger';
  /** Pre-shared key: MUK for msk/trigger, MSK for mtk. */
  psk: Buffer;
  /** RAND for the key derivation of MTK messages (O15: the MSK message's RAND or empty). */
  derivationRand?: Buffer;
  profile: MikeyProfile;
  /** Expected V flag; undefined = not judged. */
  v?: boolean;
  /** `decodeMikey(bytes)` when the caller has it already: a datagram is decoded once (analyze at line rate). */
  decoded?: MikeyMessage;
}

export interface KeyMessageVerdict {
  checks: CheckOutcome[];
  message?: MikeyMessage;
  keyIds: KeyIds;
  counter?: bigint;
  tsType?: number;
  csbId?: number;
  rand?: Buffer;
  v?: boolean;
  keyData: KeyData[];
  /** Whether the MAC verified (the key data is trusted only then). */
  macValid: boolean;
}

/**
 * Verifies an MSK message, MTK message or solicited-pull trigger (data type 0, PSK mode) as a UE would,
 * listing every property judged. It never throws on bad input: a defect is a failed check.
 */
export function verifyKeyMessage(bytes: Buffer, exp: KeyMessageExpectation): KeyMessageVerdict {
  const checks: CheckOutcome[] = [];
  const out: KeyMessageVerdict = { checks, keyIds: {}, keyData: [], macValid: false };
  const pass = (check: string, message: string, actual?: unknown) => checks.push({ check, ok: true, message, ...(actual !== undefined ? { actual } : {}) });
  const fail = (check: string, message: string, expected: unknown, actual: unknown) => checks.push({ check, ok: false, message, expected, actual });
  const p = exp.profile;

  let msg: MikeyMessage;
  try {
    msg = exp.decoded ?? decodeMikey(bytes);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    fail('mikey.decode', `the datagram is not one well-formed MIKEY message: ${e.reason}`, 'a MIKEY message per RFC 3830 §6 with nothing after the last payload', { offset: e.offset, payload: e.payload, reason: e.reason });
    return out;
  }
  out.message = msg;
  pass('mikey.decode', `decodes strictly (${bytes.length} octets, ${msg.payloads.length} payloads)`);

  // HDR (RFC 3830 §6.1): version 1 is enforced by the decoder; data type and PRF are judged here.
  if (msg.hdr.dataType === DataType.PSK_INIT) pass('mikey.data-type', 'data type 0 (pre-shared key)');
  else fail('mikey.data-type', 'key messages use data type 0 (PSK)', 0, msg.hdr.dataType);
  if ((msg.hdr.prf ?? 0) === 0) pass('mikey.prf', 'PRF 0 (MIKEY-1)');
  else fail('mikey.prf', 'PRF func must be 0 (MIKEY-1), the only one defined', 0, msg.hdr.prf);
  out.csbId = msg.hdr.csbId;
  out.v = msg.hdr.v;
  if (exp.v !== undefined) {
    if (msg.hdr.v === exp.v) pass('mikey.v-flag', `V flag ${exp.v ? 'set' : 'clear'}`);
    else fail('mikey.v-flag', exp.kind === 'mtk' ? 'MTK messages never ask for a verification message (6.3.3)' : 'V flag as expected', exp.v, msg.hdr.v);
  }

  // CS ID map (RFC 3830 §6.1, RFC 4563 §5; O11).
  const wantMap = p.csIdMap.type === 'empty' ? CsIdMapType.EMPTY : CsIdMapType.SRTP_ID;
  const map = msg.hdr.csIdMapType ?? CsIdMapType.EMPTY;
  if (map === wantMap) pass('mikey.cs-id-map', `CS ID map type ${map}`);
  else fail('mikey.cs-id-map', 'CS ID map type per profile (O11)', wantMap, map);
  if (wantMap === CsIdMapType.EMPTY && (msg.hdr.numCs ?? 0) !== p.csIdMap.numCs) {
    fail('mikey.num-cs', '#CS per profile with the Empty map (O11)', p.csIdMap.numCs, msg.hdr.numCs);
  }
  const sp = findPayload(msg, 'SP');
  if (map === CsIdMapType.EMPTY && sp) fail('mikey.sp', 'no SP payload with the Empty map (RFC 4563 §5)', 'no SP', 'SP present');
  if (exp.kind === 'mtk' && sp) fail('mikey.sp', 'the MTK message carries no security policy (RFC 4563 §7)', 'no SP', 'SP present');
  if (findPayload(msg, 'V')) fail('mikey.v-payload', 'an initiator message carries no V payload', 'no V payload', 'V payload present');

  // EXT key IDs (RFC 4563 §4).
  out.keyIds = getKeyIds(msg);
  const ext = findPayloads(msg, 'EXT').find((e) => e.extType === 3);
  if (!ext) fail('mikey.ext', 'a Key ID extension (EXT type 3) is present', 'EXT Key ID', 'absent');
  else {
    const types = (ext.keyIds ?? []).map((k) => k.idType);
    const want = exp.kind === 'mtk' ? [KeyIdType.KEY_DOMAIN_ID, KeyIdType.MSK_ID, KeyIdType.MTK_ID] : [KeyIdType.KEY_DOMAIN_ID, KeyIdType.MSK_ID];
    const missing = want.filter((t) => !types.includes(t));
    if (missing.length === 0) pass('mikey.ext', `Key IDs: Key Domain ID ${hex(out.keyIds.keyDomainId) ?? '-'}, MSK ID ${hex(out.keyIds.mskId) ?? '-'}${out.keyIds.mtkId ? `, MTK ID ${hex(out.keyIds.mtkId)}` : ''}`);
    else fail('mikey.ext', 'Key ID sub-payloads present (RFC 4563 §4)', want, types);
    const lengths: [keyof KeyIds, number][] = [['keyDomainId', p.ext.keyDomainIdLength], ['mskId', p.ext.mskIdLength], ['mtkId', p.ext.mtkIdLength]];
    for (const [name, length] of lengths) {
      const v = out.keyIds[name];
      if (v !== undefined && v.length !== length) fail('mikey.ext', `${name} is ${length} octets (O13)`, length, v.length);
    }
  }

  // T (RFC 3830 §6.6; O7).
  const t = findPayload(msg, 'T');
  const wantTs = p.timestamp.type === 'counter' ? TsType.COUNTER : p.timestamp.type === 'ntp' ? TsType.NTP : TsType.NTP_UTC;
  if (!t) fail('mikey.timestamp', 'a T payload is present', 'T payload', 'absent');
  else {
    out.counter = t.tsValue;
    out.tsType = t.tsType;
    if (t.tsType === wantTs) pass('mikey.timestamp', `TS type ${t.tsType}, value ${t.tsValue}`);
    else fail('mikey.timestamp', 'TS type per profile (O7)', wantTs, t.tsType);
  }

  // RAND (RFC 3830 §6.11): present in MSK messages and triggers, at least 128 bits (G-B2).
  const rand = findPayload(msg, 'RAND')?.rand;
  out.rand = rand;
  if (exp.kind !== 'mtk' || p.payloads.mtk.rand) {
    if (!rand) fail('mikey.rand', 'a RAND payload is present', 'RAND', 'absent');
    else if (rand.length < 16) fail('mikey.rand', 'RAND of at least 16 octets (RFC 3830 §6.11, G-B2)', '>= 16 octets', rand.length);
    else pass('mikey.rand', `RAND of ${rand.length} octets`);
  }

  // KEMAC (RFC 3830 §6.2): last payload; AES-CM-128 and HMAC-SHA-1-160, never NULL (G-B2).
  const kemac = findPayload(msg, 'KEMAC');
  if (!kemac) {
    const absentAllowed = exp.kind === 'trigger' && p.trigger.kemac === 'absent';
    if (!absentAllowed) fail('mikey.kemac', 'a KEMAC payload is present (it carries the MAC)', 'KEMAC', 'absent');
    return out;
  }
  if (msg.payloads[msg.payloads.length - 1] !== kemac) fail('mikey.kemac', 'KEMAC is the last payload in PSK mode (RFC 3830 §3.1)', 'last', 'not last');
  const encrAlg = kemac.encrAlg ?? EncrAlg.AES_CM_128;
  const macAlg = kemac.macAlg ?? MacAlg.HMAC_SHA1_160;
  if (encrAlg === EncrAlg.AES_CM_128) pass('mikey.encr-alg', 'KEMAC encryption AES-CM-128');
  else fail('mikey.encr-alg', 'KEMAC encryption AES-CM-128, never NULL (RFC 3830 §4.2.3, G-B2)', EncrAlg.AES_CM_128, encrAlg);
  if (macAlg === MacAlg.HMAC_SHA1_160) pass('mikey.mac-alg', 'KEMAC MAC HMAC-SHA-1-160');
  else fail('mikey.mac-alg', 'KEMAC MAC HMAC-SHA-1-160, never NULL (RFC 3830 §4.2.4, G-B2)', MacAlg.HMAC_SHA1_160, macAlg);

  // MAC over every octet up to the MAC field (RFC 3830 §5.2), keys from the PSK (§4.1.4).
  const derivationRand = exp.kind === 'mtk' ? (exp.derivationRand ?? Buffer.alloc(0)) : (rand ?? Buffer.alloc(0));
  const keyring = messageKeyring(exp.psk, msg.hdr.csbId, derivationRand);
  const mac = kemac.mac ?? Buffer.alloc(0);
  if (macAlg === MacAlg.HMAC_SHA1_160 && mac.length === 20) {
    const expected = keyring.mac(bytes.subarray(0, bytes.length - mac.length));
    if (constantTimeEqual(expected, mac)) {
      out.macValid = true;
      pass('mikey.mac', `KEMAC MAC verifies under the ${exp.kind === 'mtk' ? 'MSK' : 'MUK'}-derived auth key`);
    } else {
      fail('mikey.mac', `KEMAC MAC verifies under the ${exp.kind === 'mtk' ? 'MSK' : 'MUK'}-derived auth key (RFC 3830 §5.2)`, expected.toString('hex'), mac.toString('hex'));
    }
  } else {
    fail('mikey.mac', 'a 160-bit HMAC-SHA-1 MAC is present', '20 octets', mac.length);
  }

  // Key data (RFC 3830 §6.13), decrypted with AES-CM (§4.2.3, IV from salt, CSB ID and T; O8 padding).
  if (t && encrAlg === EncrAlg.AES_CM_128) {
    const plain = keyring.aesCm(msg.hdr.csbId, timestampT64(t.tsType, t.tsValue, p.ivCounterPadding), kemac.encrData);
    let list: KeyData[] = [];
    try {
      list = plain.length === 0 ? [] : decodeKeyData(plain);
    } catch (e) {
      if (!(e instanceof MikeyDecodeError)) throw e;
      fail('mikey.key-data', 'the decrypted KEMAC data is a chain of Key data sub-payloads', 'Key data sub-payloads', e.reason);
    }
    out.keyData = out.macValid ? list : [];
    if (exp.kind === 'trigger') {
      if (list.length === 0) pass('mikey.key-data', 'the trigger carries no key data');
      else fail('mikey.key-data', 'a solicited-pull trigger delivers no key (O20)', 0, list.length);
    } else if (list.length === 1) {
      const kd = list[0]!;
      if (kd.key.length === 16) pass('mikey.key-data', `one ${exp.kind === 'mtk' ? 'MTK' : 'MSK'} of 128 bits decrypted`);
      else fail('mikey.key-data', 'a 128-bit key', 16, kd.key.length);
    } else if (plain.length > 0) {
      fail('mikey.key-data', `one Key data sub-payload carrying the ${exp.kind === 'mtk' ? 'MTK' : 'MSK'}`, 1, list.length);
    } else {
      fail('mikey.key-data', 'the KEMAC carries the key', 'key data', 'empty');
    }
  }
  return out;
}

export function keyIdsJson(ids: KeyIds): Record<string, string | undefined> {
  return { keyDomainId: hex(ids.keyDomainId), mskId: hex(ids.mskId), mtkId: hex(ids.mtkId) };
}

export interface AckExpectation {
  /** The initiator message the ACK answers (octets as sent). */
  original: Buffer;
  /** MUK. */
  psk: Buffer;
  profile: MikeyProfile;
}

/**
 * Verifies a verification message (RFC 3830 §5.2, §6.9; protocol §5.7, A-U3): data type 1, same CSB ID,
 * echoed timestamp, V payload last with a MAC recomputed for the profile's variant (O16).
 */
export function verifyAck(bytes: Buffer, exp: AckExpectation): { checks: CheckOutcome[]; message?: MikeyMessage } {
  const checks: CheckOutcome[] = [];
  const pass = (check: string, message: string) => checks.push({ check, ok: true, message });
  const fail = (check: string, message: string, expected: unknown, actual: unknown) => checks.push({ check, ok: false, message, expected, actual });
  let msg: MikeyMessage;
  let original: MikeyMessage;
  try {
    original = decodeMikey(exp.original);
  } catch (e) {
    fail('ack.original', 'the acknowledged message decodes', 'MIKEY message', String(e));
    return { checks };
  }
  try {
    msg = decodeMikey(bytes);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    fail('ack.decode', 'the verification message decodes strictly', 'MIKEY message', { offset: e.offset, reason: e.reason });
    return { checks };
  }
  pass('ack.decode', 'decodes strictly');
  if (msg.hdr.dataType === DataType.PSK_VER) pass('ack.data-type', 'data type 1 (PSK verification)');
  else fail('ack.data-type', 'data type 1 (RFC 3830 §6.1)', 1, msg.hdr.dataType);
  if (msg.hdr.csbId === original.hdr.csbId) pass('ack.csb-id', 'CSB ID echoed');
  else fail('ack.csb-id', 'the responder reuses the CSB ID (RFC 3830 §6.1)', original.hdr.csbId, msg.hdr.csbId);
  const t = findPayload(msg, 'T');
  const ot = findPayload(original, 'T');
  if (exp.profile.verification.timestamp === 'echoed') {
    if (t && ot && t.tsType === ot.tsType && t.tsValue === ot.tsValue) pass('ack.timestamp', 'timestamp echoed');
    else fail('ack.timestamp', "the responder reuses the initiator's timestamp (RFC 3830 §5.2)", ot?.tsValue?.toString(), t?.tsValue?.toString());
  }
  const v = findPayload(msg, 'V');
  if (!v || msg.payloads[msg.payloads.length - 1] !== v) {
    fail('ack.v-payload', 'a V payload ends the message (RFC 3830 §6.9)', 'V last', v ? 'V not last' : 'absent');
    return { checks, message: msg };
  }
  const rand = findPayload(original, 'RAND')?.rand ?? Buffer.alloc(0);
  const { keys } = messageKeyring(exp.psk, original.hdr.csbId, rand);
  const ids = findPayloads(original, 'ID');
  const expected = verificationMac(exp.profile.verification.macVariant, keys.authKey, {
    body: bytes.subarray(0, bytes.length - v.mac.length),
    idi: ids[0]?.id, idr: ids[1]?.id,
    tsType: (t ?? ot)?.tsType ?? TsType.COUNTER, tsValue: (t ?? ot)?.tsValue ?? 0n,
  });
  if (constantTimeEqual(expected, v.mac)) pass('ack.mac', `V MAC verifies (${exp.profile.verification.macVariant})`);
  else fail('ack.mac', `V MAC per variant ${exp.profile.verification.macVariant} (RFC 3830 §5.2, O16)`, expected.toString('hex'), v.mac.toString('hex'));
  return { checks, message: msg };
}

/** A key group as the suites name it: Key Domain ID and an MSK ID whose upper 16 bits are the key group. */
export interface KeyGroupRef { keyDomainId: Buffer; mskId: number }

const inGroup = (ids: KeyIds, g: KeyGroupRef): boolean =>
  g.keyDomainId.equals(ids.keyDomainId ?? Buffer.alloc(0)) && ids.mskId?.length === 4 && Math.floor(g.mskId / 0x10000) === ids.mskId.readUInt16BE(0);

/**
 * mikey.key-ids of a solicited-pull trigger (TS 33.246 §6.3.2.1: "the key IDs ... set to 0x0"; which ones
 * the profile names, O20): each of them absent or zero, and an MSK ID present.
 */
export function judgeTriggerKeyIds(ids: KeyIds, profile: Pick<MikeyProfile, 'trigger'>): CheckOutcome {
  const bad = profile.trigger.zeroKeyIds.filter((name) => ids[name] !== undefined && !ids[name]!.every((x) => x === 0));
  if (ids.mskId === undefined) bad.push('mskId');
  return bad.length === 0 ? { check: 'mikey.key-ids', ok: true, message: 'key IDs 0x0 (solicited pull)' }
    : { check: 'mikey.key-ids', ok: false, message: 'the trigger carries key IDs 0x0 (push solicited pull, O20)', expected: Object.fromEntries(profile.trigger.zeroKeyIds.map((n) => [n, '0'])), actual: keyIdsJson(ids) };
}

/** A-B12: no MSK of a key group the user is not subscribed to (TS 33.246 §6.3.1); undefined when the MSK is not one. */
export function judgeUnsubscribedMsk(ids: KeyIds, unsubscribed: readonly KeyGroupRef[]): CheckOutcome | undefined {
  if (!ids.mskId || !unsubscribed.some((u) => inGroup(ids, u))) return undefined;
  return { check: 'mikey.key-ids', ok: false, message: 'no MSK of a service the user is not subscribed to is delivered (A-B12)', expected: 'a subscribed key group', actual: keyIdsJson(ids) };
}

/** The EXT key IDs name an MSK (Key Number above 0) of a key group the user is subscribed to (RFC 4563 §4; TS 33.246 §6.3.2). */
export function judgeSubscribedMsk(ids: KeyIds, subscribed: readonly KeyGroupRef[]): CheckOutcome {
  const show = keyIdsJson(ids);
  const ok = subscribed.some((s) => inGroup(ids, s)) && (ids.mskId?.readUInt16BE(2) ?? 0) > 0;
  return ok ? { check: 'mikey.key-ids', ok, message: `EXT key IDs ${show.keyDomainId}/${show.mskId} name a subscribed key group` }
    : { check: 'mikey.key-ids', ok, message: 'EXT key IDs name an MSK (Key Number > 0) of a subscribed key group', expected: subscribed.map((s) => `${s.keyDomainId.toString('hex')}/${(Math.floor(s.mskId / 0x10000)).toString(16).padStart(4, '0')}xxxx`), actual: show };
}
