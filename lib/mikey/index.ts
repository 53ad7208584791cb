// Public API of lib/mikey: MIKEY codec (RFC 3830 + RFC 4563) driven by one payload table, MIKEY-1 crypto,
// and the TS 33.246 message builders/readers with their profile options (protocol §9 O7-O16, O20).
export * from './errors.ts';
export * from './payloads.ts';
export {
  encodeMikey, decodeMikey, decodeMikeyLenient, encodeKeyData, decodeKeyData, findPayload, findPayloads, getKeyIds,
  clearComputed, describeMikey, describeKeyData, mikeyToJSON, keyDataToJSON, MAX_MIKEY_MESSAGE_OCTETS,
  type EncodeOptions, type LenientResult, type KeyIds,
} from './codec.ts';
export * from './crypto.ts';
export * from './profile.ts';
export * from './mbms-messages.ts';
