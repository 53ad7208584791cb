// The spellings of key identifiers and keys in the references' configuration files and control API bodies,
// one parser each for the BM-SC and the UE.
import { keyDomainIdFromPlmn, mskIdFromBytes } from '../../mbms/index.ts';
import { ReferenceConfigError } from './errors.ts';

/** Key Domain ID from 6 hex digits or `MCC-MNC` / `MCC/MNC` (RFC 4563 §4 Key Domain ID = MCC ‖ MNC, protocol §4.2, O14). */
export function parseKeyDomainId(text: string): Buffer {
  if (/^[0-9a-fA-F]{6}$/.test(text)) return Buffer.from(text, 'hex');
  const plmn = /^([0-9]{3})[-/]([0-9]{2,3})$/.exec(text);
  if (plmn) return keyDomainIdFromPlmn(plmn[1]!, plmn[2]!);
  throw new ReferenceConfigError(`Key Domain ID '${text}' is neither 6 hex digits nor MCC-MNC`);
}

/** MSK ID from 8 hex digits (Key Group ‖ Key Number, TS 33.246 §6.3.1). */
export function parseMskIdHex(text: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new ReferenceConfigError(`MSK ID '${text}' is not 8 hex digits`);
  return mskIdFromBytes(Buffer.from(text, 'hex'));
}

/** Ks_NAF (or a MUK) from hex: GBA gives 32 octets; 16..64 are accepted for test keys. */
export function parseKsNaf(text: string): Buffer {
  if (!/^([0-9a-fA-F]{2}){16,64}$/.test(text)) throw new ReferenceConfigError('Ks_NAF must be 32..128 hex digits (16..64 octets; GBA: 32)');
  return Buffer.from(text, 'hex');
}
