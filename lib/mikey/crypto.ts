// MIKEY crypto (RFC 3830 §4.1, §4.2.3, §5.2; protocol §5): MIKEY-1 PRF, key derivation from a pre-shared
// key or a TGK, AES-CM-128 key transport, KEMAC MAC and verification-message MAC.
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from 'node:crypto';
import { MikeyCryptoError } from './errors.ts';
import { TsType } from './payloads.ts';

function hmacSha1(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** P(s, label, m) of RFC 3830 §4.1.2: m HMAC-SHA1 blocks, A0 = label, Ai = HMAC(s, A(i-1)). */
function pFunction(s: Buffer, label: Buffer, m: number): Buffer {
  const out: Buffer[] = [];
  let a = label;
  for (let i = 0; i < m; i++) {
    a = hmacSha1(s, a);
    out.push(hmacSha1(s, a, label));
  }
  return Buffer.concat(out);
}

/**
 * MIKEY-1 PRF (RFC 3830 §4.1.2): inkey split into 256-bit blocks s1..sn (the last may be shorter and is
 * used as an HMAC key as is), m = ceil(outkey bits / 160); outkey = leading octets of the XOR of P(si,label,m).
 */
export function prf(inkey: Buffer, label: Buffer, outBytes: number): Buffer {
  if (inkey.length === 0) throw new MikeyCryptoError('PRF inkey must not be empty');
  if (!Number.isInteger(outBytes) || outBytes < 0) throw new MikeyCryptoError(`PRF output length ${outBytes} is not a byte count`);
  const m = Math.ceil((outBytes * 8) / 160);
  const out = Buffer.alloc(m * 20);
  for (let off = 0; off < inkey.length; off += 32) {
    const p = pFunction(inkey.subarray(off, off + 32), label, m);
    for (let i = 0; i < out.length; i++) out[i] ^= p[i];
  }
  return out.subarray(0, outBytes);
}

/** RFC 3830 §4.1.4 constants for keys protecting a MIKEY message from a pre-shared key. */
export const PSK_LABEL = { encr: 0x150533e1, auth: 0x2d22ac75, salt: 0x29b88916 } as const;
/** RFC 3830 §4.1.3 constants for keys derived from a TGK (consecutive 9-digit chunks of e). */
export const TGK_LABEL = { tek: 0x2ad01c64, auth: 0x1b5c7973, encr: 0x15798cef, salt: 0x39a2c14b } as const;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** label = constant ‖ 0xFF ‖ CSB ID ‖ RAND (RFC 3830 §4.1.4). */
export function pskLabel(constant: number, csbId: number, rand: Buffer): Buffer {
  return Buffer.concat([u32(constant), Buffer.from([0xff]), u32(csbId), rand]);
}

export interface MessageKeys {
  /** 128-bit AES-CM-128 key. */
  encrKey: Buffer;
  /** 160-bit HMAC-SHA-1 key (KEMAC MAC and verification MAC). */
  authKey: Buffer;
  /** 112-bit AES-CM salt. */
  saltKey: Buffer;
}

/**
 * Keys protecting a MIKEY message in PSK mode (protocol §5.2): inkey = MUK for MSK messages and triggers,
 * MSK for MTK messages; rand may be empty (MTK messages without a RAND, protocol §5.3 option b).
 */
export function deriveMessageKeys(psk: Buffer, csbId: number, rand: Buffer): MessageKeys {
  const { keys } = messageKeyring(psk, csbId, rand);
  // Copies: no caller can change a cached key
  return { encrKey: Buffer.from(keys.encrKey), authKey: Buffer.from(keys.authKey), saltKey: Buffer.from(keys.saltKey) };
}

/**
 * The keys of one (PSK, CSB ID, RAND) with what reading a message under them needs, kept ready: the
 * AES-128 block cipher of the encryption key (AES-CM is the keystream of counter blocks, RFC 3830 §4.2.3)
 * and the MAC. Every copy of a message and every message of a delivery comes back with the same triple,
 * so three PRF runs (six HMACs) and a cipher set-up are saved each time (analyze at line rate).
 */
export interface MessageKeyring {
  readonly keys: Readonly<MessageKeys>;
  /** HMAC-SHA-1-160 under the auth key (KEMAC MAC, RFC 3830 §5.2). */
  mac(covered: Buffer): Buffer;
  /** AES-CM-128 encryption or decryption under the encryption and salt keys (RFC 3830 §4.2.3). */
  aesCm(csbId: number, t64: bigint, data: Buffer): Buffer;
}

/** The keyring of (PSK, CSB ID, RAND), derived once and kept in a bounded cache (oldest out first). */
export function messageKeyring(psk: Buffer, csbId: number, rand: Buffer): MessageKeyring {
  const id = `${psk.toString('latin1')}|${csbId}|${rand.toString('latin1')}`;
  const known = KEYRING_CACHE.get(id);
  if (known) return known;
  const keys: MessageKeys = {
    encrKey: prf(psk, pskLabel(PSK_LABEL.encr, csbId, rand), 16),
    authKey: prf(psk, pskLabel(PSK_LABEL.auth, csbId, rand), 20),
    saltKey: prf(psk, pskLabel(PSK_LABEL.salt, csbId, rand), 14),
  };
  const block = aesBlockCipher(keys.encrKey);
  const ring: MessageKeyring = {
    keys,
    mac: (covered) => hmacSha1(keys.authKey, covered),
    aesCm: (csb, t64, data) => aesCmKeystreamXor(block, aesCmIv(keys.saltKey, csb, t64), data),
  };
  KEYRING_CACHE.set(id, ring);
  if (KEYRING_CACHE.size > KEYRING_CACHE_LIMIT) KEYRING_CACHE.delete(KEYRING_CACHE.keys().next().value!);
  return ring;
}

const KEYRING_CACHE = new Map<string, MessageKeyring>();
const KEYRING_CACHE_LIMIT = 4096;

/** AES-128 as a block cipher (ECB over whole blocks, no padding): the keystream generator of AES-CM. */
function aesBlockCipher(key: Buffer): Cipher {
  if (key.length !== 16) throw new MikeyCryptoError(`AES-CM-128 key must be 128 bits, got ${key.length * 8}`);
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}

/**
 * AES-CM (RFC 3830 §4.2.3, the SRTP counter mode of RFC 3711 §4.1.1): block i of the keystream is
 * E(key, IV + i), IV + i changing only the low 16 bits (IV ends in 0x0000; a MIKEY message is far shorter
 * than 2^16 blocks), XORed with the data. ECB over whole blocks is stateless, so one cipher serves every
 * message under the key.
 */
function aesCmKeystreamXor(block: Cipher, iv: Buffer, data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / 16);
  const counters = Buffer.allocUnsafe(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    iv.copy(counters, i * 16);
    counters.writeUInt16BE(i, i * 16 + 14);
  }
  const stream = block.update(counters);
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ stream[i]!;
  return out;
}

export interface TgkKeys { tek: Buffer; authKey: Buffer; encrKey: Buffer; saltKey: Buffer }

/** Keys derived from a TGK for crypto session csId (RFC 3830 §4.1.3; label = const ‖ cs_id ‖ CSB ID ‖ RAND). */
export function deriveTgkKeys(
  tgk: Buffer, csId: number, csbId: number, rand: Buffer,
  lengths: { tek?: number; auth?: number; encr?: number; salt?: number } = {},
): TgkKeys {
  const label = (c: number) => Buffer.concat([u32(c), Buffer.from([csId & 0xff]), u32(csbId), rand]);
  return {
    tek: prf(tgk, label(TGK_LABEL.tek), lengths.tek ?? 16),
    authKey: prf(tgk, label(TGK_LABEL.auth), lengths.auth ?? 20),
    encrKey: prf(tgk, label(TGK_LABEL.encr), lengths.encr ?? 16),
    saltKey: prf(tgk, label(TGK_LABEL.salt), lengths.salt ?? 14),
  };
}

/** How a 32-bit COUNTER becomes the 64-bit T of the AES-CM IV (open point O8). */
export type CounterPadding = 'left-zero' | 'right-zero';

/** 64-bit T for the IV from a T payload: NTP values as is; COUNTER padded per O8 (default: zeros on the left). */
export function timestampT64(tsType: number, tsValue: bigint, padding: CounterPadding = 'left-zero'): bigint {
  if (tsType === TsType.COUNTER && padding === 'right-zero') return (tsValue & 0xffffffffn) << 32n;
  return tsValue & 0xffffffffffffffffn;
}

/** AES-CM-128 initial counter block: (S XOR (0x0000 ‖ CSB ID ‖ T)) ‖ 0x0000 (RFC 3830 §4.2.3). */
export function aesCmIv(saltKey: Buffer, csbId: number, t64: bigint): Buffer {
  if (saltKey.length !== 14) throw new MikeyCryptoError(`AES-CM salt must be 112 bits, got ${saltKey.length * 8}`);
  const x = Buffer.alloc(14);
  x.writeUInt32BE(csbId >>> 0, 2);
  x.writeBigUInt64BE(t64 & 0xffffffffffffffffn, 6);
  const iv = Buffer.alloc(16);
  for (let i = 0; i < 14; i++) iv[i] = saltKey[i] ^ x[i];
  return iv;
}

/** AES-CM-128 (SRTP counter mode, prefix 0) encryption or decryption of KEMAC data (protocol §5.5). */
export function aesCm128(encrKey: Buffer, saltKey: Buffer, csbId: number, t64: bigint, data: Buffer): Buffer {
  return aesCmKeystreamXor(aesBlockCipher(encrKey), aesCmIv(saltKey, csbId, t64), data);
}

/** KEMAC MAC: HMAC-SHA-1-160 over the message octets from HDR octet 0 through the MAC alg octet (§5.6). */
export function kemacMac(authKey: Buffer, coveredOctets: Buffer): Buffer {
  return hmacSha1(authKey, coveredOctets);
}

/** Inputs of the verification MAC appended after the message (protocol §5.7, open point O16). */
export type VerificationMacVariant = 'rfc-ids-ts8' | 'rfc-ids-ts4' | 'ts8-only';
export const verificationMacVariants: readonly VerificationMacVariant[] = ['rfc-ids-ts8', 'rfc-ids-ts4', 'ts8-only'];

export interface VerificationMacInput {
  /** The verification message up to, not including, the ver data. */
  body: Buffer;
  /** ID data of IDi and IDr (no payload headers); appended in the rfc-* variants when present. */
  idi?: Buffer;
  idr?: Buffer;
  tsType: number;
  tsValue: bigint;
}

/**
 * Verification message MAC (RFC 3830 §5.2, §6.9): HMAC-SHA1(auth_key, body ‖ [IDi ‖ IDr] ‖ TS).
 * 'rfc-ids-ts8': IDs then the TS as 64 bits (COUNTER zero-padded); 'rfc-ids-ts4': IDs then the TS as carried
 * (4 octets for COUNTER); 'ts8-only': the 64-bit TS only (minisip style).
 */
export function verificationMac(variant: VerificationMacVariant, authKey: Buffer, input: VerificationMacInput): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(input.tsValue & 0xffffffffffffffffn);
  const carried = input.tsType === TsType.COUNTER && variant === 'rfc-ids-ts4' ? ts.subarray(4) : ts;
  const parts = [input.body];
  if (variant !== 'ts8-only') parts.push(input.idi ?? Buffer.alloc(0), input.idr ?? Buffer.alloc(0));
  parts.push(carried);
  return hmacSha1(authKey, ...parts);
}

/** Constant-time comparison; different lengths compare unequal without leaking content timing. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
