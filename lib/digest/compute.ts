// Digest response and rspauth (RFC 2617 §3.2.2.1-3.2.2.5 and §3.2.3; RFC 7616 §3.4.1-3.4.3, §3.5).
import { createHash, timingSafeEqual } from 'node:crypto';
import { DigestAlgorithmError, DigestInputError } from './errors.ts';
import type { DigestAlgorithm } from './types.ts';

interface AlgorithmInfo {
  name: DigestAlgorithm;
  /** node:crypto hash name. */
  hash: 'md5' | 'sha256' | 'sha512-256';
  session: boolean;
}

const ALGORITHMS: Record<string, AlgorithmInfo> = {
  'md5': { name: 'MD5', hash: 'md5', session: false },
  'md5-sess': { name: 'MD5-sess', hash: 'md5', session: true },
  'sha-256': { name: 'SHA-256', hash: 'sha256', session: false },
  'sha-256-sess': { name: 'SHA-256-sess', hash: 'sha256', session: true },
  // RFC 7616 §3.2: SHA-512/256 (FIPS 180-4 truncated variant with its own IV), node name 'sha512-256'.
  'sha-512-256': { name: 'SHA-512-256', hash: 'sha512-256', session: false },
  'sha-512-256-sess': { name: 'SHA-512-256-sess', hash: 'sha512-256', session: true },
};

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = Object.values(ALGORITHMS).map((a) => a.name);

/** Canonical name of an algorithm value as received (case-insensitive); absent means MD5 (RFC 2617 §3.2.1). */
export function normalizeAlgorithm(algorithm: string | undefined): DigestAlgorithm | undefined {
  return algorithm === undefined ? 'MD5' : ALGORITHMS[algorithm.toLowerCase()]?.name;
}

function algorithmInfo(algorithm: string | undefined): AlgorithmInfo {
  const info = ALGORITHMS[(algorithm ?? 'MD5').toLowerCase()];
  if (!info) throw new DigestAlgorithmError(algorithm ?? '');
  return info;
}

/** H(data): lower-case hex digest of the algorithm's hash function (RFC 7616 §3.4.1). */
export function digestHash(algorithm: string | undefined, data: string | Buffer): string {
  return createHash(algorithmInfo(algorithm).hash).update(data).digest('hex');
}

/** userhash = H(unq(username) ":" unq(realm)) (RFC 7616 §3.4.4). */
export function computeUserhash(algorithm: string | undefined, username: string, realm: string): string {
  return digestHash(algorithm, `${username}:${realm}`);
}

/** Constant-time comparison of two hex digests (case-insensitive); false on length mismatch. */
export function digestEquals(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface DigestInput {
  /** As received; absent = MD5. */
  algorithm?: string;
  username: string;
  realm: string;
  password: string;
  nonce: string;
  /** Required with qop and with -sess algorithms. */
  cnonce?: string;
  /** 8 hex digits as sent; required with qop. */
  nc?: string;
  /** Absent = RFC 2069 compatibility (no cnonce/nc in the hash). */
  qop?: string;
  method: string;
  /** digest-uri exactly as sent in the uri directive. */
  uri: string;
  /** Entity body as sent (before transfer-coding); hashed only for qop=auth-int (RFC 2617 §3.2.2.4). */
  body?: Buffer;
  /** Include the password in the worksheet's A1 text (default: redacted). */
  revealSecrets?: boolean;
}

/** Every input and intermediate value of one computation, for reports (RFC 2617 §3.2.2 notation). */
export interface DigestWorksheet {
  kind: 'response' | 'rspauth';
  algorithm: DigestAlgorithm;
  hashFunction: 'md5' | 'sha256' | 'sha512-256';
  qop?: string;
  username: string;
  realm: string;
  nonce: string;
  cnonce?: string;
  nc?: string;
  /** Method for `response`; empty for rspauth (A2 starts with ":"; any method given is ignored). */
  method: string;
  uri: string;
  bodyLength?: number;
  /** A1 text with the password replaced by `<password>` unless revealSecrets. */
  a1: string;
  /** For -sess: H(username:realm:password) that starts A1 (password-equivalent; redact in reports as policy says). */
  ha1Base?: string;
  ha1: string;
  /** H(entity-body), for qop=auth-int. */
  hBody?: string;
  a2: string;
  ha2: string;
  /** KD(secret, data) = H(secret ":" data): the data part (RFC 2617 §3.2.1). */
  kdData: string;
  /** The full string hashed by KD: H(A1) ":" data. */
  kdInput: string;
  result: string;
}

export interface DigestResult {
  ha1: string;
  ha2: string;
  response: string;
  worksheet: DigestWorksheet;
}

export interface RspauthResult {
  ha1: string;
  ha2: string;
  rspauth: string;
  worksheet: DigestWorksheet;
}

const REDACTED_PASSWORD = '<password>';

function compute(input: DigestInput, kind: 'response' | 'rspauth', method: string, body: Buffer | undefined): DigestWorksheet {
  const info = algorithmInfo(input.algorithm);
  const H = (data: string | Buffer): string => createHash(info.hash).update(data).digest('hex');
  const qop = input.qop;
  if (qop !== undefined && qop !== 'auth' && qop !== 'auth-int') throw new DigestInputError(`unknown qop "${qop}"`);
  if (qop !== undefined && (input.cnonce === undefined || input.nc === undefined)) {
    // RFC 2617 §3.2.2: cnonce and nc MUST be sent when qop is.
    throw new DigestInputError('qop requires cnonce and nc');
  }
  if (info.session && input.cnonce === undefined) throw new DigestInputError(`${info.name} requires cnonce`);

  const userRealm = `${input.username}:${input.realm}`;
  const shownPassword = input.revealSecrets ? input.password : REDACTED_PASSWORD;
  let a1: string;
  let ha1: string;
  let ha1Base: string | undefined;
  if (info.session) {
    // RFC 2617 §3.2.2.2 / RFC 7616 §3.4.2: A1 = H(user:realm:pass) ":" nonce ":" cnonce.
    ha1Base = H(`${userRealm}:${input.password}`);
    a1 = `${ha1Base}:${input.nonce}:${input.cnonce}`;
    ha1 = H(a1);
  } else {
    a1 = `${userRealm}:${shownPassword}`;
    ha1 = H(`${userRealm}:${input.password}`);
  }
  if (info.session) a1 = `H(${userRealm}:${shownPassword}):${input.nonce}:${input.cnonce}`;

  // RFC 2617 §3.2.2.3 (A2) and §3.2.3 (rspauth: empty method).
  let a2 = `${method}:${input.uri}`;
  let hBody: string | undefined;
  if (qop === 'auth-int') {
    hBody = H(body ?? Buffer.alloc(0));
    a2 += `:${hBody}`;
  }
  const ha2 = H(a2);
  const kdData = qop !== undefined ? `${input.nonce}:${input.nc}:${input.cnonce}:${qop}:${ha2}` : `${input.nonce}:${ha2}`;
  const kdInput = `${ha1}:${kdData}`;
  const result = H(kdInput);
  const sheet: DigestWorksheet = {
    kind,
    algorithm: info.name,
    hashFunction: info.hash,
    username: input.username,
    realm: input.realm,
    nonce: input.nonce,
    method,
    uri: input.uri,
    a1,
    ha1,
    a2,
    ha2,
    kdData,
    kdInput,
    result,
  };
  if (qop !== undefined) sheet.qop = qop;
  if (input.cnonce !== undefined) sheet.cnonce = input.cnonce;
  if (input.nc !== undefined) sheet.nc = input.nc;
  if (ha1Base !== undefined) sheet.ha1Base = ha1Base;
  if (qop === 'auth-int') {
    sheet.bodyLength = (body ?? Buffer.alloc(0)).length;
    sheet.hBody = hBody;
  }
  return sheet;
}

/** request-digest of RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1. */
export function computeResponse(input: DigestInput): DigestResult {
  const worksheet = compute(input, 'response', input.method, input.body);
  return { ha1: worksheet.ha1, ha2: worksheet.ha2, response: worksheet.result, worksheet };
}

/**
 * response-auth (rspauth) of RFC 2617 §3.2.3 / RFC 7616 §3.5: as the request digest but with an empty
 * method in A2, and for qop=auth-int the hash of the *response* body.
 */
export function computeRspauth(
  input: Omit<DigestInput, 'body' | 'method'> & { responseBody?: Buffer; method?: string },
): RspauthResult {
  const worksheet = compute({ ...input, method: '' }, 'rspauth', '', input.responseBody);
  return { ha1: worksheet.ha1, ha2: worksheet.ha2, rspauth: worksheet.result, worksheet };
}
