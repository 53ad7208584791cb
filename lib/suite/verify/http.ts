// Verifiers for the BM-SC's HTTP answers (protocol §2, §3; checks A-B1, A-B2, A-B3, A-B8, A-B12).
// Digest values are recomputed from lib/digest primitives (computeRspauth, digestHash) with the credentials
// the tester actually sent, never taken from the server's word; bodies are read with the profile's XML
// shape (O3) and judged against the O4 status table.

import { XMLValidator } from 'fast-xml-parser';
import {
  computeRspauth, digestEquals, normalizeAlgorithm, parseAuthenticationInfo, parseChallenges, parseCredentials,
  type DigestChallenge, type DigestCredentials,
} from '../../digest/index.ts';
import { parseMskResponseBody, realmMatches, type MbmsProfile, type MskRequestEntry } from '../../mbms/index.ts';
import type { CheckOutcome } from './mikey.ts';

export function header(headers: readonly [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

export function headersAll(headers: readonly [string, string][], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The Digest challenge of a 401 (first usable one), or the reason there is none. */
export function digestChallengeOf(headers: readonly [string, string][]): { challenge?: DigestChallenge; error?: string } {
  const values = headersAll(headers, 'www-authenticate');
  if (values.length === 0) return { error: 'no WWW-Authenticate header' };
  for (const value of values) {
    try {
      const list = parseChallenges(value);
      if (list.length > 0) return { challenge: list[0] };
    } catch (e) {
      return { error: `WWW-Authenticate does not parse: ${(e as Error).message}` };
    }
  }
  return { error: 'no Digest challenge in WWW-Authenticate' };
}

export interface ChallengeExpectation {
  realm?: 'gba' | 'any';
  qop?: 'profile' | 'any';
  algorithm?: 'profile' | 'any';
  stale?: boolean;
  freshNonce?: boolean;
}

/** Judges a Digest challenge (RFC 2617 §3.2.1; reference A-B1, A-B7, A-B8). */
export function verifyChallenge(
  headers: readonly [string, string][], exp: ChallengeExpectation,
  ctx: { profile: MbmsProfile; nafFqdn: string; earlierNonces: readonly string[] },
): { checks: CheckOutcome[]; challenge?: DigestChallenge } {
  const checks: CheckOutcome[] = [];
  const { challenge, error } = digestChallengeOf(headers);
  if (!challenge) {
    checks.push({ check: 'digest.challenge', ok: false, message: 'a 401 carries a Digest challenge (RFC 2617 §3.2.1)', expected: 'WWW-Authenticate: Digest ...', actual: error });
    return { checks };
  }
  checks.push({ check: 'digest.challenge', ok: true, message: `Digest challenge realm="${challenge.realm}" nonce="${challenge.nonce}"` });
  const http = ctx.profile.http;
  if (!challenge.nonce) checks.push({ check: 'digest.nonce', ok: false, message: 'the challenge carries a nonce', expected: 'non-empty nonce', actual: challenge.nonce });
  if (exp.realm === 'gba') {
    const ok = realmMatches(challenge.realm, http.realmPrefixes, http.checkRealmHost ? ctx.nafFqdn : undefined);
    checks.push(ok
      ? { check: 'digest.realm', ok, message: `realm ${challenge.realm} is a GBA realm of the BM-SC` }
      : { check: 'digest.realm', ok, message: 'realm is <3GPP-bootstrapping prefix>@<BM-SC FQDN> (TS 24.109 §5.2, protocol §3.3)', expected: http.realmPrefixes.map((p) => `${p}@${ctx.nafFqdn}`), actual: challenge.realm });
  }
  if (exp.qop === 'profile') {
    const offered = challenge.qop ?? [];
    const ok = offered.includes(http.qop);
    checks.push(ok
      ? { check: 'digest.qop', ok, message: `qop options ${offered.join(',')} include ${http.qop}` }
      : { check: 'digest.qop', ok, message: `qop options offer ${http.qop} (O5)`, expected: http.qop, actual: challenge.qop ?? 'no qop directive' });
  }
  if (exp.algorithm === 'profile') {
    const alg = normalizeAlgorithm(challenge.algorithm);
    const ok = alg === http.algorithm;
    checks.push(ok
      ? { check: 'digest.algorithm', ok, message: `algorithm ${challenge.algorithm ?? '(absent = MD5)'}` }
      : { check: 'digest.algorithm', ok, message: `algorithm ${http.algorithm} or absent for MD5 (O5, RFC 2617 §3.2.1)`, expected: http.algorithm, actual: challenge.algorithm });
  }
  if (exp.stale !== undefined) {
    const stale = challenge.stale === true;
    checks.push(stale === exp.stale
      ? { check: 'digest.stale', ok: true, message: exp.stale ? 'stale=TRUE signals an expired nonce only' : 'no stale flag' }
      : { check: 'digest.stale', ok: false, message: exp.stale ? 'a correct digest on an expired nonce is answered stale=TRUE (RFC 2617 §3.2.1)' : 'stale is absent or FALSE on a first challenge', expected: exp.stale, actual: stale });
  }
  if (exp.freshNonce) {
    const reused = ctx.earlierNonces.includes(challenge.nonce);
    checks.push(reused
      ? { check: 'digest.fresh-nonce', ok: false, message: 'every challenge carries a new nonce', expected: `a nonce other than ${ctx.earlierNonces.join(', ')}`, actual: challenge.nonce }
      : { check: 'digest.fresh-nonce', ok: true, message: 'the nonce is new' });
  }
  return { checks, challenge };
}

export interface AuthInfoExpectation {
  rspauth?: 'valid' | 'present' | 'absent';
  echo?: boolean;
  nextnonce?: 'present' | 'absent' | 'any';
}

/**
 * Judges Authentication-Info of a 200 OK (RFC 2617 §3.2.3; A-B2): rspauth recomputed with the password and
 * the credentials the tester sent, A2 = ":" uri [":" H(response body)] for auth-int.
 */
export function verifyAuthenticationInfo(
  responseHeaders: readonly [string, string][], responseBody: Buffer, exp: AuthInfoExpectation,
  sent: { authorization: string; password: string },
): { checks: CheckOutcome[]; nextnonce?: string } {
  const checks: CheckOutcome[] = [];
  const value = header(responseHeaders, 'authentication-info');
  if (value === undefined) {
    if (exp.rspauth === 'absent') checks.push({ check: 'digest.auth-info', ok: true, message: 'no Authentication-Info, as expected' });
    else checks.push({ check: 'digest.auth-info', ok: false, message: 'the 200 OK carries Authentication-Info (TS 33.246 6.3.1, RFC 2617 §3.2.3)', expected: 'Authentication-Info: rspauth=...', actual: 'absent' });
    return { checks };
  }
  let info;
  try {
    info = parseAuthenticationInfo(value);
  } catch (e) {
    checks.push({ check: 'digest.auth-info', ok: false, message: 'Authentication-Info parses', expected: 'auth-info grammar (RFC 7616 §3.5)', actual: (e as Error).message });
    return { checks };
  }
  let credentials: DigestCredentials;
  try {
    credentials = parseCredentials(sent.authorization);
  } catch (e) {
    checks.push({ check: 'digest.auth-info', ok: false, message: 'the tester could not re-read its own Authorization', expected: 'credentials', actual: (e as Error).message });
    return { checks };
  }
  if (exp.echo) {
    for (const field of ['qop', 'cnonce', 'nc'] as const) {
      const ok = info[field] === credentials[field];
      checks.push(ok
        ? { check: `digest.auth-info.${field}`, ok, message: `${field} echoed` }
        : { check: `digest.auth-info.${field}`, ok, message: `${field} echoes the request (RFC 2617 §3.2.3)`, expected: credentials[field], actual: info[field] });
    }
  }
  if (exp.rspauth === 'valid' || exp.rspauth === 'present') {
    if (!info.rspauth) {
      checks.push({ check: 'digest.rspauth', ok: false, message: 'rspauth is present (RFC 2617 §3.2.3)', expected: 'rspauth', actual: 'absent' });
    } else if (exp.rspauth === 'valid') {
      const expected = computeRspauth({
        algorithm: credentials.algorithm, username: credentials.username, realm: credentials.realm, password: sent.password,
        nonce: credentials.nonce, cnonce: credentials.cnonce, nc: credentials.nc, qop: credentials.qop, method: '', uri: credentials.uri,
        responseBody,
      });
      const ok = digestEquals(expected.rspauth, info.rspauth);
      checks.push(ok
        ? { check: 'digest.rspauth', ok, message: `rspauth ${info.rspauth} recomputed over the response body` }
        : { check: 'digest.rspauth', ok, message: `rspauth = KD(H(A1), nonce:nc:cnonce:qop:H(":" uri${credentials.qop === 'auth-int' ? ' ":" H(body)' : ''})) (RFC 2617 §3.2.3)`, expected: expected.rspauth, actual: info.rspauth });
    } else checks.push({ check: 'digest.rspauth', ok: true, message: 'rspauth present' });
  } else if (exp.rspauth === 'absent' && info.rspauth) {
    checks.push({ check: 'digest.rspauth', ok: false, message: 'no rspauth expected', expected: 'absent', actual: info.rspauth });
  }
  if (exp.nextnonce === 'present' && !info.nextnonce) checks.push({ check: 'digest.nextnonce', ok: false, message: 'nextnonce is sent (O5)', expected: 'nextnonce', actual: 'absent' });
  if (exp.nextnonce === 'absent' && info.nextnonce) checks.push({ check: 'digest.nextnonce', ok: false, message: 'no nextnonce (O5)', expected: 'absent', actual: info.nextnonce });
  return { checks, nextnonce: info.nextnonce };
}

export interface BodyExpectation {
  mskResponse?: boolean;
  entries?: 'per-requested-key' | 'any';
  statuses?: 'success' | 'error-for-unsubscribed' | 'any';
}

/**
 * Judges an MSK response body (protocol §2.4; A-B3, A-B12). Returns the MSK IDs the body grants (status =
 * the profile's success code), which later steps expect over MIKEY.
 */
export function verifyMskResponseBody(
  status: number, headers: readonly [string, string][], body: Buffer, exp: BodyExpectation,
  ctx: { profile: MbmsProfile; requested: readonly MskRequestEntry[]; unsubscribed: readonly MskRequestEntry[] },
): { checks: CheckOutcome[]; granted: number[] } {
  const checks: CheckOutcome[] = [];
  const profile = ctx.profile;
  if (status !== 200) {
    // A-B12 allows 403 for an unsubscribed-only request: nothing is granted, there is no body to judge.
    if (exp.statuses === 'error-for-unsubscribed' && status === 403 && ctx.requested.every((r) => isIn(r, ctx.unsubscribed))) {
      checks.push({ check: 'msk-response.statuses', ok: true, message: '403: the unsubscribed MSK is refused as a whole' });
    }
    return { checks, granted: [] };
  }
  const contentType = header(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  const text = body.toString('utf8');
  const wellFormed = XMLValidator.validate(text);
  if (exp.mskResponse) {
    checks.push(contentType === profile.http.responseContentType.toLowerCase()
      ? { check: 'msk-response.content-type', ok: true, message: `Content-Type ${contentType}` }
      : { check: 'msk-response.content-type', ok: false, message: 'the MSK response has the profile media type (protocol §2.1)', expected: profile.http.responseContentType, actual: contentType ?? 'absent' });
    checks.push(wellFormed === true
      ? { check: 'msk-response.xml', ok: true, message: 'well-formed XML' }
      : { check: 'msk-response.xml', ok: false, message: 'the body is well-formed XML', expected: 'XML 1.0 document', actual: (wellFormed as { err: { msg: string } }).err.msg });
  }
  let entries: { mskId: number; status: number }[] = [];
  try {
    entries = parseMskResponseBody(body, profile);
    if (exp.mskResponse) checks.push({ check: 'msk-response.shape', ok: true, message: `${entries.length} status entr${entries.length === 1 ? 'y' : 'ies'} under <${profile.xml.responseRoot}>` });
  } catch (e) {
    if (exp.mskResponse || (exp.statuses && exp.statuses !== 'any') || exp.entries === 'per-requested-key') {
      checks.push({ check: 'msk-response.shape', ok: false, message: 'the body follows the profile MSK response shape (O3)', expected: `<${profile.xml.responseRoot}> with <${profile.xml.mskIdElement}>/<${profile.xml.statusElement}> entries`, actual: (e as Error).message });
    }
    return { checks, granted: [] };
  }
  const success = profile.statusCodes.success;
  if (exp.entries === 'per-requested-key') {
    const want = ctx.requested.map((r) => r.mskId).sort();
    const got = entries.map((e) => e.mskId).sort();
    const ok = want.length === got.length && want.every((w, i) => w === got[i]);
    checks.push(ok
      ? { check: 'msk-response.entries', ok, message: 'one status entry per requested MSK' }
      : { check: 'msk-response.entries', ok, message: 'one status entry per requested MSK (A-B3)', expected: want.map(hex8), actual: got.map(hex8) });
  }
  for (const r of ctx.requested) {
    const entry = entries.find((e) => e.mskId === r.mskId);
    const unsubscribed = isIn(r, ctx.unsubscribed);
    if (!entry) continue;
    if (exp.statuses === 'success' && entry.status !== success) {
      checks.push({ check: 'msk-response.statuses', ok: false, message: `MSK ${hex8(r.mskId)} of a subscribed service is granted (O4 success)`, expected: success, actual: entry.status });
    } else if (exp.statuses === 'error-for-unsubscribed') {
      if (unsubscribed && entry.status === success) {
        checks.push({ check: 'msk-response.statuses', ok: false, message: `MSK ${hex8(r.mskId)} of a service the user is not subscribed to is refused (A-B12)`, expected: 'an error status', actual: entry.status });
      } else if (!unsubscribed && entry.status !== success) {
        checks.push({ check: 'msk-response.statuses', ok: false, message: `MSK ${hex8(r.mskId)} of a subscribed service is granted`, expected: success, actual: entry.status });
      } else {
        checks.push({ check: 'msk-response.statuses', ok: true, message: `MSK ${hex8(r.mskId)}: status ${entry.status}` });
      }
    } else if (exp.statuses === 'success') {
      checks.push({ check: 'msk-response.statuses', ok: true, message: `MSK ${hex8(r.mskId)}: status ${entry.status}` });
    }
  }
  return { checks, granted: entries.filter((e) => e.status === success).map((e) => e.mskId) };
}

function isIn(r: MskRequestEntry, list: readonly MskRequestEntry[]): boolean {
  return list.some((u) => u.mskId === r.mskId && u.keyDomainId.equals(r.keyDomainId));
}

export const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
