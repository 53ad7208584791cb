// MBMS key identifiers: Key Domain ID, MSK ID, MTK ID and the SRTP MKI built from them
// (protocol §4.2 "EXT Key ID", §6.2 "Key identifier rules", open points O13, O14, O21, O22).
import { KeyIdError } from './errors.ts';

/** Length of a Key Domain ID: MCC || MNC in 3 octets (RFC 4563 Key ID type 0; protocol §4.2). */
export const KEY_DOMAIN_ID_LENGTH = 3;
/** Length of an MSK ID: Key Group (2) || Key Number (2) (TS 31.102 EF_MSK; protocol §4.2). */
export const MSK_ID_LENGTH = 4;
/** Default MTK ID length (protocol §4.2, O13: 2 octets, UNCONFIRMED). */
export const DEFAULT_MTK_ID_LENGTH = 2;

const MCC_PATTERN = /^[0-9]{3}$/;
const MNC_PATTERN = /^[0-9]{2,3}$/;

/**
 * Key Domain ID from a PLMN (protocol §4.2, O14 default "PLMN BCD"): the 3GPP PLMN-ID layout
 * `MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1`, low nibble first, MNC3 = 0xF for a two-digit MNC.
 * 001/01 -> 00 F1 10.
 */
export function keyDomainIdFromPlmn(mcc: string, mnc: string): Buffer {
  if (!MCC_PATTERN.test(mcc)) throw new KeyIdError(`MCC must be 3 decimal digits, got '${mcc}'`);
  if (!MNC_PATTERN.test(mnc)) throw new KeyIdError(`MNC must be 2 or 3 decimal digits, got '${mnc}'`);
  const d = (s: string, i: number): number => s.charCodeAt(i) - 0x30;
  const mnc3 = mnc.length === 3 ? d(mnc, 2) : 0xf;
  return Buffer.from([(d(mcc, 1) << 4) | d(mcc, 0), (mnc3 << 4) | d(mcc, 2), (d(mnc, 1) << 4) | d(mnc, 0)]);
}

/** Inverse of keyDomainIdFromPlmn; throws KeyIdError when a nibble is not a BCD digit (or 0xF for MNC3). */
export function plmnFromKeyDomainId(keyDomainId: Uint8Array): { mcc: string; mnc: string } {
  if (keyDomainId.length !== KEY_DOMAIN_ID_LENGTH) {
    throw new KeyIdError(`Key Domain ID must be ${KEY_DOMAIN_ID_LENGTH} octets, got ${keyDomainId.length}`);
  }
  const lo = (b: number): number => b & 0x0f;
  const hi = (b: number): number => b >> 4;
  const [b0, b1, b2] = [keyDomainId[0]!, keyDomainId[1]!, keyDomainId[2]!];
  const mccDigits = [lo(b0), hi(b0), lo(b1)];
  const mncDigits = [lo(b2), hi(b2)];
  const mnc3 = hi(b1);
  if (mnc3 !== 0xf) mncDigits.push(mnc3);
  for (const digit of [...mccDigits, ...mncDigits]) {
    if (digit > 9) throw new KeyIdError(`Key Domain ID ${Buffer.from(keyDomainId).toString('hex')} is not PLMN BCD`);
  }
  return { mcc: mccDigits.join(''), mnc: mncDigits.join('') };
}

function checkUint16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new KeyIdError(`${name} must be an integer 0..65535, got ${value}`);
  }
}

/** MSK ID (as a 32-bit unsigned number) = Key Group (high 16 bits) || Key Number (low 16 bits) (protocol §6.2). */
export function mskId(group: number, number: number): number {
  checkUint16('Key Group', group);
  checkUint16('Key Number', number);
  return ((group << 16) >>> 0) + number;
}

/** Splits an MSK ID into its Key Group and Key Number (protocol §6.2). */
export function parseMskId(id: number): { group: number; number: number } {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new KeyIdError(`MSK ID must be an integer 0..2^32-1, got ${id}`);
  }
  return { group: Math.floor(id / 0x10000), number: id % 0x10000 };
}

/** The 4 octets of an MSK ID as carried in the EXT Key ID sub-payload type 1 and in the XML bodies. */
export function mskIdToBytes(id: number): Buffer {
  parseMskId(id);
  const out = Buffer.alloc(MSK_ID_LENGTH);
  out.writeUInt32BE(id, 0);
  return out;
}

export function mskIdFromBytes(bytes: Uint8Array): number {
  if (bytes.length !== MSK_ID_LENGTH) throw new KeyIdError(`MSK ID must be ${MSK_ID_LENGTH} octets, got ${bytes.length}`);
  return Buffer.from(bytes).readUInt32BE(0);
}

/** MTK ID octets (EXT Key ID sub-payload type 2), big-endian, `length` octets (O13, default 2). */
export function mtkIdToBytes(id: number, length: number = DEFAULT_MTK_ID_LENGTH): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 6) throw new KeyIdError(`MTK ID length must be 1..6, got ${length}`);
  const max = 2 ** (8 * length) - 1;
  if (!Number.isInteger(id) || id < 0 || id > max) throw new KeyIdError(`MTK ID must be an integer 0..${max}, got ${id}`);
  const out = Buffer.alloc(length);
  out.writeUIntBE(id, 0, length);
  return out;
}

export function mtkIdFromBytes(bytes: Uint8Array, length: number = DEFAULT_MTK_ID_LENGTH): number {
  if (bytes.length !== length) throw new KeyIdError(`MTK ID must be ${length} octets, got ${bytes.length}`);
  return Buffer.from(bytes).readUIntBE(0, length);
}

/**
 * Whether `candidate` is acceptable after `current` under the O21 rule "strict increase, no wrap"
 * (protocol §6.2: key numbers and MTK IDs increase by one per new key; 0 is reserved as "no key").
 * `current` undefined = nothing held yet: any non-zero value is acceptable.
 */
export function isNewerKeyNumber(candidate: number, current: number | undefined): boolean {
  if (candidate === 0) return false;
  return current === undefined || candidate > current;
}

/** Key-ID value 0 marks the solicited-pull trigger and is never a real key (protocol §6.2, O20). */
export function isTriggerKeyId(id: number | Uint8Array): boolean {
  return typeof id === 'number' ? id === 0 : Buffer.from(id).every((b) => b === 0);
}

/** SRTP MKI for streaming = MSK ID || MTK ID (protocol §6.2, O22: 6 octets with a 2-octet MTK ID). */
export function srtpMki(msk: number, mtk: number, mtkIdLength: number = DEFAULT_MTK_ID_LENGTH): Buffer {
  return Buffer.concat([mskIdToBytes(msk), mtkIdToBytes(mtk, mtkIdLength)]);
}

export function parseSrtpMki(mki: Uint8Array, mtkIdLength: number = DEFAULT_MTK_ID_LENGTH): { mskId: number; mtkId: number } {
  if (mki.length !== MSK_ID_LENGTH + mtkIdLength) {
    throw new KeyIdError(`MKI must be ${MSK_ID_LENGTH + mtkIdLength} octets, got ${mki.length}`);
  }
  return {
    mskId: mskIdFromBytes(mki.subarray(0, MSK_ID_LENGTH)),
    mtkId: mtkIdFromBytes(mki.subarray(MSK_ID_LENGTH), mtkIdLength),
  };
}

/** Hex of a Key Domain ID plus MSK ID, a stable map key for "(domain, MSK)" (e.g. '00f110/00010001'). */
export function mskKey(keyDomainId: Uint8Array, id: number): string {
  return `${Buffer.from(keyDomainId).toString('hex')}/${mskIdToBytes(id).toString('hex')}`;
}

/** Map key for "(domain, key group)", the scope of the two MSK slots (protocol §6.2, TS 31.102 EF_MSK). */
export function keyGroupKey(keyDomainId: Uint8Array, id: number): string {
  return `${Buffer.from(keyDomainId).toString('hex')}/${parseMskId(id).group.toString(16).padStart(4, '0')}`;
}
