// Public API of lib/mbms: the 33.246 profile (protocol §9), key IDs, GBA bindings and MSK bodies.
export { ProfileError, MbmsBodyError, KeyIdError } from './errors.ts';
export {
  defaultProfile, referenceProfile, mskRequestTarget, deepMerge, DEFAULT_STATUS_CODES,
  type MbmsProfile, type MikeyProfile, type HttpProfile, type XmlProfile, type StatusCodes, type AckProfile,
  type RetransmissionProfile, type ErrorsProfile, type SolicitedPullProfile, type KeyIdsProfile, type SrtpProfile,
  type GbaProfile, type TimersProfile, type SecretsProfile, type DigestAlgorithm,
} from './profile.ts';
export { loadProfile, parseProfile, validateProfile, profileSchema, type LoadProfileOptions } from './load.ts';
export {
  KEY_DOMAIN_ID_LENGTH, MSK_ID_LENGTH, DEFAULT_MTK_ID_LENGTH,
  keyDomainIdFromPlmn, plmnFromKeyDomainId, mskId, parseMskId, mskIdToBytes, mskIdFromBytes,
  mtkIdToBytes, mtkIdFromBytes, isNewerKeyNumber, isTriggerKeyId, srtpMki, parseSrtpMki, mskKey, keyGroupKey,
} from './keyids.ts';
export { UA_PROTOCOL_ID_MBMS, DEFAULT_REALM_PREFIX, nafId, realm, realmHost, realmMatches, digestPassword } from './gba.ts';
export {
  buildMskRequestBody, parseMskRequestBody, buildMskResponseBody, parseMskResponseBody, statusMeaning,
  type MskRequestEntry, type MskResponseEntry,
} from './bodies.ts';
