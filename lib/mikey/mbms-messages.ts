// TS 33.246 MIKEY messages (protocol §1, §4.10, §5): builders for MSK messages, MTK messages, solicited-pull
// triggers and verification messages, and readers that verify MACs and decrypt key data. Every shape choice
// the reference leaves open comes from the MikeyProfile (§9 O7-O16, O20).
import {
  clearComputed, decodeKeyData, decodeMikey, decodeMikeyLenient, encodeKeyData, encodeMikey, findPayload,
  findPayloads, getKeyIds, type KeyIds,
} from './codec.ts';
import {
  aesCm128, constantTimeEqual, deriveMessageKeys, kemacMac, timestampT64, verificationMac, type MessageKeys,
} from './crypto.ts';
import { MikeyDecodeError, MikeyProfileError } from './errors.ts';
import {
  CsIdMapType, DataType, EncrAlg, ExtType, IdType, KeyDataType, KeyIdType, KvType, MacAlg, TsType,
  type ExtPayload, type Hdr, type KemacPayload, type KeyData, type MikeyMessage, type Payload, type PolicyParam,
  type TPayload, type VPayload,
} from './payloads.ts';
import { defaultMikeyProfile, type KeyDataTypeName, type KvName, type MikeyProfile } from './profile.ts';

/** What every builder returns: the octets, the tree they were encoded from, and the message keys. */
export interface BuiltMessage {
  bytes: Buffer;
  message: MikeyMessage;
  keys: MessageKeys;
}

/** KV of a key data sub-payload (RFC 3830 §6.13): Null, SPI/MKI, or an Interval. */
export type KeyValidity =
  | { type: 'null' }
  | { type: 'spi'; spi: Buffer }
  | { type: 'interval'; validFrom: Buffer; validTo: Buffer };

type Mutate = (m: MikeyMessage) => void;

/** Key data type code (RFC 3830 §6.13) of each profile spelling (O12). */
export const kdTypeCode: Readonly<Record<KeyDataTypeName, number>> = {
  TGK: KeyDataType.TGK, 'TGK+SALT': KeyDataType.TGK_SALT, TEK: KeyDataType.TEK, 'TEK+SALT': KeyDataType.TEK_SALT,
};
const tsTypeCode = { counter: TsType.COUNTER, 'ntp-utc': TsType.NTP_UTC, ntp: TsType.NTP } as const;

/** A key ID as octets: Buffers as given, numbers big-endian in `length` octets. */
export function keyIdBytes(value: Buffer | number, length: number): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * length)) {
    throw new MikeyProfileError(`key ID ${value} does not fit ${length} octets`);
  }
  const b = Buffer.alloc(length);
  b.writeUIntBE(value, 0, length);
  return b;
}

const idBytes = (v: Buffer | string): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'));

function hdrFor(profile: MikeyProfile, dataType: number, v: boolean, csbId: number): Hdr {
  const srtp = profile.csIdMap.type === 'srtp-id';
  return {
    version: 1, dataType, v, prf: 0, csbId,
    csIdMapType: srtp ? CsIdMapType.SRTP_ID : CsIdMapType.EMPTY,
    // Empty map: #CS is announced without map entries (RFC 4563 §5); SRTP-ID: #CS follows the entries.
    ...(srtp ? { csIdMap: profile.csIdMap.srtpEntries.map((e) => ({ ...e })) } : { numCs: profile.csIdMap.numCs }),
  };
}

function keyIdExt(ids: { type: number; value: Buffer }[]): ExtPayload {
  return { type: 'EXT', extType: ExtType.KEY_ID, keyIds: ids.map((k) => ({ idType: k.type, value: k.value })) };
}

function tPayload(profile: MikeyProfile, value: number | bigint): TPayload {
  return { type: 'T', tsType: tsTypeCode[profile.timestamp.type], tsValue: BigInt(value) };
}

function keyDataFor(
  what: string, typeName: KeyDataTypeName, kvName: KvName, key: Buffer, salt: Buffer | undefined, kv: KeyValidity | undefined,
): KeyData {
  let kdType = kdTypeCode[typeName];
  // A salt given for a type without salt selects the +SALT variant (RFC 3830 §6.13 types 1 and 3).
  if (salt && (kdType === KeyDataType.TGK || kdType === KeyDataType.TEK)) kdType += 1;
  const withSalt = kdType === KeyDataType.TGK_SALT || kdType === KeyDataType.TEK_SALT;
  if (withSalt && !salt) throw new MikeyProfileError(`${what}: key data type ${typeName} needs a salt`);
  const validity = kv ?? { type: kvName };
  const kd: KeyData = { kdType, kv: KvType.NULL, key, ...(withSalt ? { salt } : {}) };
  if (validity.type === 'spi') {
    if (!('spi' in validity)) throw new MikeyProfileError(`${what}: KV SPI/MKI needs the SPI value`);
    kd.kv = KvType.SPI;
    kd.spi = validity.spi;
  } else if (validity.type === 'interval') {
    if (!('validFrom' in validity)) throw new MikeyProfileError(`${what}: KV Interval needs validFrom and validTo`);
    kd.kv = KvType.INTERVAL;
    kd.validFrom = validity.validFrom;
    kd.validTo = validity.validTo;
  }
  return kd;
}

function kemacFor(keys: MessageKeys, csbId: number, t: TPayload, profile: MikeyProfile, keyData: KeyData[]): KemacPayload {
  const t64 = timestampT64(t.tsType, t.tsValue, profile.ivCounterPadding);
  const plain = encodeKeyData(keyData);
  return {
    type: 'KEMAC', encrAlg: EncrAlg.AES_CM_128, macAlg: MacAlg.HMAC_SHA1_160,
    encrData: plain.length ? aesCm128(keys.encrKey, keys.saltKey, csbId, t64, plain) : plain,
  };
}

function finish(message: MikeyMessage, keys: MessageKeys, mutate: Mutate | undefined): BuiltMessage {
  mutate?.(message);
  return { bytes: encodeMikey(message, { authKey: keys.authKey }), message, keys };
}

export interface MskMessageInput {
  /** MUK (Ks_NAF or Ks_int_NAF), the pre-shared key of MSK messages. */
  muk: Buffer;
  csbId: number;
  /** TS value: the MUK's counter (COUNTER) or a 64-bit NTP value, per profile O7. */
  counter: number | bigint;
  rand: Buffer;
  keyDomainId: Buffer;
  mskId: Buffer | number;
  msk: Buffer;
  /** Optional salt for the MSK key data (selects TGK+SALT / TEK+SALT). */
  mskSalt?: Buffer;
  /** V bit: request a verification message. */
  v: boolean;
  idi: Buffer | string;
  idr: Buffer | string;
  /** KV of the MSK key data; default from profile O12 (Null). */
  kv?: KeyValidity;
  /** MTK ID sent in MSK messages when profile O13 says so (default 0). */
  mtkId?: Buffer | number;
  /** Security policy (streaming, profile O9 payloads.msk.sp); default an SRTP policy with SRTP defaults. */
  sp?: { policyNo: number; params: PolicyParam[] };
  profile?: MikeyProfile;
  /** Runs on the tree before encoding; the MAC is computed after it unless it sets kemac.mac. */
  mutate?: Mutate;
}

/** MSK message (protocol §4.10): HDR, EXT(Key IDs), T, RAND, [IDi], [IDr], [SP], KEMAC(MSK) under the MUK. */
export function buildMskMessage(input: MskMessageInput): BuiltMessage {
  const profile = input.profile ?? defaultMikeyProfile;
  const keys = deriveMessageKeys(input.muk, input.csbId, input.rand);
  const t = tPayload(profile, input.counter);
  const ids: { type: number; value: Buffer }[] = [
    { type: KeyIdType.KEY_DOMAIN_ID, value: input.keyDomainId },
    { type: KeyIdType.MSK_ID, value: keyIdBytes(input.mskId, profile.ext.mskIdLength) },
  ];
  if (profile.ext.mskMessageMtkId) ids.push({ type: KeyIdType.MTK_ID, value: keyIdBytes(input.mtkId ?? 0, profile.ext.mtkIdLength) });
  const payloads: Payload[] = [keyIdExt(ids), t, { type: 'RAND', rand: input.rand }];
  if (profile.payloads.msk.idi) payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idi) });
  if (profile.payloads.msk.idr) payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idr) });
  if (profile.payloads.msk.sp || input.sp) {
    payloads.push({ type: 'SP', policyNo: input.sp?.policyNo ?? 0, protType: 0, params: input.sp?.params ?? [] });
  }
  const kd = keyDataFor('MSK message', profile.keyData.msk.type, profile.keyData.msk.kv, input.msk, input.mskSalt, input.kv);
  payloads.push(kemacFor(keys, input.csbId, t, profile, [kd]));
  return finish({ hdr: hdrFor(profile, DataType.PSK_INIT, input.v, input.csbId), payloads }, keys, input.mutate);
}

export interface MtkMessageInput {
  msk: Buffer;
  /** RAND of the MSK message (protocol §5.3 option a); required when profile O15 is 'msk-rand'. */
  mskRand?: Buffer;
  csbId: number;
  /** TS value: the MSK's counter (COUNTER) or NTP value. */
  counter: number | bigint;
  keyDomainId: Buffer;
  mskId: Buffer | number;
  mtkId: Buffer | number;
  mtk: Buffer;
  salt?: Buffer;
  /** V bit; MTK messages are never answered, so the default is false. */
  v?: boolean;
  kv?: KeyValidity;
  idi?: Buffer | string;
  idr?: Buffer | string;
  profile?: MikeyProfile;
  mutate?: Mutate;
}

/** The RAND entering MTK-message key derivation (profile O15). */
export function mtkDerivationRand(profile: MikeyProfile, mskRand: Buffer | undefined): Buffer {
  if (profile.mtkRandSource === 'empty') return Buffer.alloc(0);
  if (!mskRand) throw new MikeyProfileError('MTK message keys: profile takes the RAND of the MSK message (O15) but none was given');
  return mskRand;
}

/** MTK message (protocol §4.10): HDR, EXT(domain, MSK ID, MTK ID), T, [RAND], [IDi], [IDr], KEMAC(MTK) under the MSK. */
export function buildMtkMessage(input: MtkMessageInput): BuiltMessage {
  const profile = input.profile ?? defaultMikeyProfile;
  const rand = mtkDerivationRand(profile, input.mskRand);
  const keys = deriveMessageKeys(input.msk, input.csbId, rand);
  const t = tPayload(profile, input.counter);
  const payloads: Payload[] = [
    keyIdExt([
      { type: KeyIdType.KEY_DOMAIN_ID, value: input.keyDomainId },
      { type: KeyIdType.MSK_ID, value: keyIdBytes(input.mskId, profile.ext.mskIdLength) },
      { type: KeyIdType.MTK_ID, value: keyIdBytes(input.mtkId, profile.ext.mtkIdLength) },
    ]),
    t,
  ];
  if (profile.payloads.mtk.rand) payloads.push({ type: 'RAND', rand });
  if (profile.payloads.mtk.idi) {
    if (input.idi === undefined) throw new MikeyProfileError('MTK message: profile O9 includes IDi but none was given');
    payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idi) });
  }
  if (profile.payloads.mtk.idr) {
    if (input.idr === undefined) throw new MikeyProfileError('MTK message: profile O9 includes IDr but none was given');
    payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idr) });
  }
  const kd = keyDataFor('MTK message', profile.keyData.mtk.type, profile.keyData.mtk.kv, input.mtk, input.salt, input.kv);
  payloads.push(kemacFor(keys, input.csbId, t, profile, [kd]));
  return finish({ hdr: hdrFor(profile, DataType.PSK_INIT, input.v ?? false, input.csbId), payloads }, keys, input.mutate);
}

export interface TriggerInput {
  muk: Buffer;
  csbId: number;
  counter: number | bigint;
  rand: Buffer;
  keyDomainId: Buffer;
  v: boolean;
  idi: Buffer | string;
  idr: Buffer | string;
  profile?: MikeyProfile;
  mutate?: Mutate;
}

/**
 * Solicited-pull trigger (protocol §1.3, O20): an MSK-message shape whose Key IDs named in
 * profile.trigger.zeroKeyIds are zero, with a KEMAC carrying no key data (or no KEMAC at all).
 */
export function buildSolicitedPullTrigger(input: TriggerInput): BuiltMessage {
  const profile = input.profile ?? defaultMikeyProfile;
  const keys = deriveMessageKeys(input.muk, input.csbId, input.rand);
  const zero = new Set(profile.trigger.zeroKeyIds);
  const ids: { type: number; value: Buffer }[] = [
    { type: KeyIdType.KEY_DOMAIN_ID, value: zero.has('keyDomainId') ? Buffer.alloc(input.keyDomainId.length) : input.keyDomainId },
    { type: KeyIdType.MSK_ID, value: Buffer.alloc(profile.ext.mskIdLength) },
  ];
  if (profile.trigger.mtkId) ids.push({ type: KeyIdType.MTK_ID, value: Buffer.alloc(profile.ext.mtkIdLength) });
  const t = tPayload(profile, input.counter);
  const payloads: Payload[] = [keyIdExt(ids), t, { type: 'RAND', rand: input.rand }];
  if (profile.payloads.msk.idi) payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idi) });
  if (profile.payloads.msk.idr) payloads.push({ type: 'ID', idType: IdType.URI, id: idBytes(input.idr) });
  // RFC 3830 §6.2 allows a KEMAC without key data (Encr data len 0): the MAC still authenticates the trigger.
  if (profile.trigger.kemac === 'empty') payloads.push(kemacFor(keys, input.csbId, t, profile, []));
  return finish({ hdr: hdrFor(profile, DataType.PSK_INIT, input.v, input.csbId), payloads }, keys, input.mutate);
}

/** IDi and IDr of a message: the first and second ID payloads (RFC 3830 §3.1 order). */
export function identitiesOf(msg: MikeyMessage): { idi?: Buffer; idr?: Buffer } {
  const ids = findPayloads(msg, 'ID');
  return { idi: ids[0]?.id, idr: ids[1]?.id };
}

export interface VerificationInput {
  /** The MSK message (or trigger) being acknowledged, as octets or as a tree. */
  received: Buffer | MikeyMessage;
  /** MUK. */
  psk: Buffer;
  /** RAND of the received message; default its RAND payload. */
  rand?: Buffer;
  /** TS value when profile O16 says 'fresh' (default: the received TS is echoed). */
  counter?: number | bigint;
  profile?: MikeyProfile;
  mutate?: Mutate;
}

function randOf(msg: MikeyMessage): Buffer | undefined {
  return findPayload(msg, 'RAND')?.rand;
}

/**
 * Verification message (protocol §4.10, §5.7, O16): HDR(type 1, same CSB ID and CS ID map), [EXT], T
 * (echoed), [IDr], V. The V MAC is computed after `mutate` unless mutate replaced the ver data.
 */
export function buildVerificationMessage(input: VerificationInput): BuiltMessage {
  const profile = input.profile ?? defaultMikeyProfile;
  const received = Buffer.isBuffer(input.received) ? decodeMikey(input.received) : input.received;
  const rand = input.rand ?? randOf(received);
  if (!rand) throw new MikeyProfileError('verification message: no RAND given and the received message has none');
  const keys = deriveMessageKeys(input.psk, received.hdr.csbId, rand);
  const hdr: Hdr = {
    version: 1, dataType: DataType.PSK_VER, v: false, prf: 0, csbId: received.hdr.csbId,
    csIdMapType: received.hdr.csIdMapType ?? CsIdMapType.EMPTY,
    ...((received.hdr.csIdMapType ?? CsIdMapType.EMPTY) === CsIdMapType.SRTP_ID
      ? { csIdMap: (received.hdr.csIdMap ?? []).map((e) => ({ ...e })) }
      : { numCs: received.hdr.numCs ?? 0 }),
  };
  const payloads: Payload[] = [];
  if (profile.verification.ext) {
    const ext = findPayload(received, 'EXT');
    if (ext) payloads.push(clearComputed({ hdr, payloads: [ext] }).payloads[0]);
  }
  const receivedT = findPayload(received, 'T');
  let t: TPayload;
  if (profile.verification.timestamp === 'fresh') {
    if (input.counter === undefined) throw new MikeyProfileError('verification message: profile O16 wants a fresh TS but no counter was given');
    t = tPayload(profile, input.counter);
  } else {
    if (!receivedT) throw new MikeyProfileError('verification message: the received message has no T payload to echo');
    t = { type: 'T', tsType: receivedT.tsType, tsValue: receivedT.tsValue };
  }
  payloads.push(t);
  const { idi, idr } = identitiesOf(received);
  if (profile.verification.idr && idr) payloads.push({ type: 'ID', idType: IdType.URI, id: idr });
  const placeholder = Buffer.alloc(20);
  const v: VPayload = { type: 'V', authAlg: MacAlg.HMAC_SHA1_160, mac: placeholder };
  payloads.push(v);
  const message: MikeyMessage = { hdr, payloads };
  input.mutate?.(message);
  let bytes = encodeMikey(message, { authKey: keys.authKey });
  const vp = message.payloads.find((p): p is VPayload => p.type === 'V');
  if (vp && vp.mac === placeholder) {
    const decodedT = findPayload(message, 'T') ?? t;
    const body = bytes.subarray(0, bytes.length - placeholder.length);
    vp.mac = verificationMac(profile.verification.macVariant, keys.authKey, {
      body, idi, idr, tsType: decodedT.tsType, tsValue: decodedT.tsValue,
    });
    bytes = encodeMikey(message, { authKey: keys.authKey });
  }
  return { bytes, message, keys };
}

// ---- readers ---------------------------------------------------------------------------------------------

export type KeyMessageKind = 'msk' | 'mtk' | 'trigger' | 'ack' | 'error' | 'unknown';

export interface KeyMessageReading {
  /** The decoded tree (partial when decoding failed). */
  message: MikeyMessage;
  kind: KeyMessageKind;
  /** KEMAC MAC verified with keys derived from opts.psk (false when absent, NULL or not checkable). */
  macValid: boolean;
  keyIds: KeyIds;
  /** TS value when the TS type is COUNTER. */
  counter?: number;
  timestamp?: { tsType: number; tsValue: bigint };
  v?: boolean;
  csbId?: number;
  /** Decrypted key data (only when the MAC verified). */
  keyData: KeyData[];
  keys?: MessageKeys;
  /** RAND used to derive the keys. */
  rand?: Buffer;
  /** First problem met (decode, MAC, decryption), as one line. */
  error?: string;
  decodeError?: MikeyDecodeError;
}

const isZero = (b: Buffer | undefined) => b !== undefined && b.every((x) => x === 0);

/** Message kind from data type and Key IDs (protocol §1.3, §4.10, §6.2, O20). */
export function classifyKeyMessage(msg: MikeyMessage, profile: MikeyProfile = defaultMikeyProfile): KeyMessageKind {
  if (msg.hdr.dataType === DataType.PSK_VER) return 'ack';
  if (msg.hdr.dataType === DataType.ERROR) return 'error';
  if (msg.hdr.dataType !== DataType.PSK_INIT) return 'unknown';
  const ids = getKeyIds(msg);
  if (ids.mskId === undefined) return 'unknown';
  const zeroNamed = profile.trigger.zeroKeyIds.filter((n) => n !== 'keyDomainId' || ids.keyDomainId !== undefined);
  if (isZero(ids.mskId) && zeroNamed.every((n) => ids[n] === undefined || isZero(ids[n]))) return 'trigger';
  if (ids.mtkId !== undefined && !isZero(ids.mtkId)) return 'mtk';
  return 'msk';
}

/**
 * Reads an MSK message, MTK message or trigger: decodes (lenient), classifies, verifies the KEMAC MAC with
 * keys derived from psk (MUK or MSK) and decrypts the key data. For MTK messages without a RAND payload the
 * RAND comes from opts.rand (profile O15 'msk-rand') or is empty ('empty').
 */
export function readKeyMessage(
  bytes: Uint8Array, opts: { psk: Buffer; rand?: Buffer }, profile: MikeyProfile = defaultMikeyProfile,
): KeyMessageReading {
  const buf = Buffer.from(bytes);
  const { message, error } = decodeMikeyLenient(buf);
  const reading: KeyMessageReading = {
    message, kind: 'unknown', macValid: false, keyIds: getKeyIds(message), keyData: [],
    v: message.hdr.v, csbId: message.hdr.csbId,
  };
  const t = findPayload(message, 'T');
  if (t) {
    reading.timestamp = { tsType: t.tsType, tsValue: t.tsValue };
    if (t.tsType === TsType.COUNTER) reading.counter = Number(t.tsValue);
  }
  if (error) {
    reading.error = error.message;
    reading.decodeError = error;
    return reading;
  }
  reading.kind = classifyKeyMessage(message, profile);
  const kemac = findPayload(message, 'KEMAC');
  if (!kemac || kemac.offset === undefined) {
    reading.error = 'no KEMAC payload: the message is not authenticated';
    return reading;
  }
  let rand = randOf(message);
  if (!rand) {
    if (reading.kind === 'mtk' && profile.mtkRandSource === 'empty') rand = Buffer.alloc(0);
    else rand = opts.rand;
  }
  if (!rand) {
    reading.error = 'no RAND payload and no RAND given: cannot derive the message keys';
    return reading;
  }
  reading.rand = rand;
  const keys = deriveMessageKeys(opts.psk, message.hdr.csbId, rand);
  reading.keys = keys;
  if ((kemac.macAlg ?? MacAlg.HMAC_SHA1_160) !== MacAlg.HMAC_SHA1_160 || !kemac.mac) {
    reading.error = 'KEMAC MAC alg is NULL: the message is not authenticated';
    return reading;
  }
  // MAC coverage: HDR octet 0 through the MAC alg octet (protocol §5.6).
  const macAlgAt = kemac.offset + 4 + kemac.encrData.length;
  const expected = kemacMac(keys.authKey, buf.subarray(0, macAlgAt + 1));
  reading.macValid = constantTimeEqual(expected, kemac.mac);
  if (!reading.macValid) {
    reading.error = `KEMAC MAC mismatch at offset ${macAlgAt + 1}`;
    return reading;
  }
  if (kemac.encrData.length === 0) return reading;
  let plain: Buffer;
  if (kemac.encrAlg === EncrAlg.AES_CM_128) {
    if (!t) {
      reading.error = 'no T payload: cannot form the AES-CM IV';
      return reading;
    }
    plain = aesCm128(keys.encrKey, keys.saltKey, message.hdr.csbId, timestampT64(t.tsType, t.tsValue, profile.ivCounterPadding), kemac.encrData);
  } else if (kemac.encrAlg === EncrAlg.NULL) {
    plain = kemac.encrData;
    reading.error = 'KEMAC encr alg is NULL: key data sent in clear';
  } else {
    reading.error = `KEMAC encr alg ${String(kemac.encrAlg)} not supported`;
    return reading;
  }
  try {
    reading.keyData = decodeKeyData(plain, kemac.offset + 4);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    reading.error = `decrypted key data malformed: ${e.message}`;
    reading.decodeError = e;
  }
  return reading;
}

export interface VerificationReading {
  macValid: boolean;
  csbId?: number;
  /** The ACK's TS value (COUNTER). */
  counter?: number;
  /** The ACK's TS equals the acknowledged message's TS (RFC 3830 §5.2: the responder echoes it). */
  echoedCounterMatches: boolean;
  csbIdMatches: boolean;
  message?: MikeyMessage;
  error?: string;
  decodeError?: MikeyDecodeError;
}

/**
 * Checks a verification message against the MSK message it acknowledges: strict decode, data type 1, CSB ID
 * and echoed TS, and the V MAC in the profile's variant (O16) with the auth key of the original exchange.
 */
export function verifyVerificationMessage(
  ackBytes: Uint8Array, opts: { original: MikeyMessage; psk: Buffer; rand?: Buffer }, profile: MikeyProfile = defaultMikeyProfile,
): VerificationReading {
  const buf = Buffer.from(ackBytes);
  const out: VerificationReading = { macValid: false, echoedCounterMatches: false, csbIdMatches: false };
  let ack: MikeyMessage;
  try {
    ack = decodeMikey(buf);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    out.error = e.message;
    out.decodeError = e;
    return out;
  }
  out.message = ack;
  out.csbId = ack.hdr.csbId;
  out.csbIdMatches = ack.hdr.csbId === opts.original.hdr.csbId;
  const t = findPayload(ack, 'T');
  const origT = findPayload(opts.original, 'T');
  if (t?.tsType === TsType.COUNTER) out.counter = Number(t.tsValue);
  out.echoedCounterMatches = !!t && !!origT && t.tsType === origT.tsType && t.tsValue === origT.tsValue;
  const problems: string[] = [];
  if (ack.hdr.dataType !== DataType.PSK_VER) problems.push(`data type ${ack.hdr.dataType} is not 1 (PSK ver msg)`);
  if (!out.csbIdMatches) problems.push(`CSB ID 0x${ack.hdr.csbId.toString(16)} differs from the acknowledged message`);
  if (!out.echoedCounterMatches) problems.push('TS does not echo the acknowledged message');
  const v = findPayload(ack, 'V');
  const rand = opts.rand ?? randOf(opts.original);
  if (!v || v.offset === undefined) problems.push('no V payload');
  else if ((v.authAlg ?? MacAlg.HMAC_SHA1_160) !== MacAlg.HMAC_SHA1_160) problems.push('V auth alg is not HMAC-SHA-1-160');
  else if (!t) problems.push('no T payload');
  else if (!rand) problems.push('no RAND to derive the auth key');
  else {
    const keys = deriveMessageKeys(opts.psk, opts.original.hdr.csbId, rand);
    const { idi, idr } = identitiesOf(opts.original);
    const expected = verificationMac(profile.verification.macVariant, keys.authKey, {
      body: buf.subarray(0, v.offset + 2), idi, idr: idr ?? identitiesOf(ack).idi, tsType: t.tsType, tsValue: t.tsValue,
    });
    out.macValid = constantTimeEqual(expected, v.mac);
    if (!out.macValid) problems.push(`V MAC mismatch (variant ${profile.verification.macVariant})`);
  }
  if (problems.length) out.error = problems.join('; ');
  return out;
}

/** 64-bit NTP timestamp (RFC 3830 §6.6 NTP-UTC / NTP: seconds since 1900 ‖ 32-bit fraction) from Unix ms. */
export function ntpTimestamp(unixMs: number): bigint {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = BigInt(Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32));
  return ((BigInt(seconds) + 2208988800n) << 32n) | fraction;
}
