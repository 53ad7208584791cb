// GBA bindings of the MBMS Ua interface: NAF_ID, realm and the Digest password (protocol §3.3, §3.4, O6, O23).

/** Ua security protocol identifier "MBMS per TS 33.246" (TS 33.220 Annex H; protocol §1 preconditions). */
export const UA_PROTOCOL_ID_MBMS = Buffer.from([0x01, 0x00, 0x00, 0x00, 0x01]);

/** Default realm prefix for GBA_ME (protocol §3.3, O6). */
export const DEFAULT_REALM_PREFIX = '3GPP-bootstrapping';

/** NAF_ID = FQDN(BM-SC) || Ua security protocol id 01 00 00 00 01 (protocol §3.4). */
export function nafId(fqdn: string): Buffer {
  return Buffer.concat([Buffer.from(fqdn, 'utf8'), UA_PROTOCOL_ID_MBMS]);
}

/** Digest realm of the BM-SC acting as NAF: `<prefix>@<NAF FQDN>` (protocol §3.3). */
export function realm(fqdn: string, prefix: string = DEFAULT_REALM_PREFIX): string {
  return `${prefix}@${fqdn}`;
}

/** Host part of a GBA realm ('3GPP-bootstrapping@bmsc.example.com' -> 'bmsc.example.com'), or undefined. */
export function realmHost(realmValue: string): string | undefined {
  const at = realmValue.indexOf('@');
  return at < 0 ? undefined : realmValue.slice(at + 1);
}

/** Whether `realmValue` starts with one of the accepted prefixes and, if `fqdn` is given, names that host (O6). */
export function realmMatches(realmValue: string, prefixes: readonly string[], fqdn?: string): boolean {
  const at = realmValue.indexOf('@');
  if (at < 0) return false;
  if (!prefixes.includes(realmValue.slice(0, at))) return false;
  return fqdn === undefined || realmValue.slice(at + 1).toLowerCase() === fqdn.toLowerCase();
}

/**
 * HTTP Digest password on Ua = base64 of Ks_NAF (GBA_ME) / Ks_ext_NAF (GBA_U), standard alphabet with padding,
 * no line wrap (protocol §3.3). Accepts the key as bytes or as a hex string.
 */
export function digestPassword(ksNaf: Uint8Array | string): string {
  const bytes = typeof ksNaf === 'string' ? hexToBytes(ksNaf) : Buffer.from(ksNaf);
  return bytes.toString('base64');
}

function hexToBytes(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new TypeError(`not a hex string: '${hex}'`);
  return Buffer.from(clean, 'hex');
}
