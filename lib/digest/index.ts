// Public API of lib/digest: HTTP Digest (RFC 2617 / RFC 7616). Other layers import only from here.
export * from './errors.ts';
export type * from './types.ts';
export {
  parseChallenges,
  parseCredentials,
  parseAuthenticationInfo,
  formatChallenge,
  formatCredentials,
  formatAuthenticationInfo,
  parseAuthChallenges,
  parseAuthCredentials,
  parseAuthParams,
  toDigestChallenge,
  quote,
} from './header.ts';
export type { DigestParseOptions } from './header.ts';
export {
  computeResponse,
  computeRspauth,
  computeUserhash,
  digestHash,
  digestEquals,
  normalizeAlgorithm,
  DIGEST_ALGORITHMS,
} from './compute.ts';
export type { DigestInput, DigestWorksheet, DigestResult, RspauthResult } from './compute.ts';
export { DigestServer } from './server.ts';
export type {
  DigestServerOptions,
  DigestOutcome,
  DigestVerifyRequest,
  DigestVerifyResult,
  AuthenticationInfoFaults,
  AuthenticationInfoOptions,
} from './server.ts';
export { DigestClient } from './client.ts';
export type {
  DigestClientOptions,
  DigestChallengeInput,
  DigestClientRequest,
  DigestClientFaults,
  DigestAuthorization,
  AuthenticationInfoCheck,
} from './client.ts';
