// The rules on a UE's MSK request (TS 33.246 §6.3.1; RFC 2617 §3.2.2), written once: the live steps
// (steps/tester-bmsc-http.ts, UE under test) and `analyze` (offline/analyzer.ts) collect what the request answers
// (the challenge, how often the nonce was used before, the password) and ask these functions.

import { computeResponse, digestEquals, normalizeAlgorithm, type DigestChallenge, type DigestCredentials } from '../../digest/index.ts';
import { mskRequestTarget, parseMskRequestBody, type MbmsProfile, type MskRequestEntry } from '../../mbms/index.ts';
import type { HttpRequestEvent } from '../trace-types.ts';
import { header } from './http.ts';
import type { CheckOutcome } from './mikey.ts';

/** Product tokens of a User-Agent value (RFC 9110 §10.1.5): product[/version], comments in parentheses skipped. */
export function productTokens(userAgent: string): string[] {
  return userAgent.replace(/\([^)]*\)/g, ' ').split(/[\s;,]+/).filter(Boolean).map((p) => p.split('/')[0]!.toLowerCase());
}

/** Request line and header fields of an MSK request (TS 33.246 §6.3.1; profile O2, O3; TS 24.109 Annex B.3). */
export function judgeRequestHeaders(profile: MbmsProfile, req: HttpRequestEvent): CheckOutcome[] {
  const http = profile.http;
  const out: CheckOutcome[] = [];
  const target = mskRequestTarget(profile);
  out.push(req.method === 'POST'
    ? { check: 'http.method', ok: true, message: 'method POST' }
    : { check: 'http.method', ok: false, message: 'the MSK request is a POST (protocol §2.2)', expected: 'POST', actual: req.method });
  out.push(req.target === target
    ? { check: 'http.uri', ok: true, message: `Request-URI ${req.target}` }
    : { check: 'http.uri', ok: false, message: 'the Request-URI is the profile\'s MSK request URI (O2)', expected: target, actual: req.target });
  const type = header(req.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  out.push(type === http.requestContentType.toLowerCase()
    ? { check: 'http.content-type', ok: true, message: `Content-Type ${type}` }
    : { check: 'http.content-type', ok: false, message: 'the body has the MSK request media type (protocol §2.1)', expected: http.requestContentType, actual: type ?? 'absent' });
  const ua = header(req.headers, 'user-agent');
  const token = http.userAgentToken.toLowerCase();
  out.push(ua !== undefined && productTokens(ua).includes(token)
    ? { check: 'http.user-agent', ok: true, message: `User-Agent "${ua}" carries ${http.userAgentToken}` }
    : { check: 'http.user-agent', ok: false, message: `User-Agent carries the product token ${http.userAgentToken} (TS 24.109 Annex B.3)`, expected: `a product token ${http.userAgentToken}`, actual: ua ?? 'no User-Agent' });
  return out;
}

/**
 * The MSK request body (profile O3): parses and names keys; with `knownDomains`, of Key Domains the UE
 * takes part in (an offline judge that does not know them passes none).
 */
export function judgeRequestBody(profile: MbmsProfile, req: HttpRequestEvent, knownDomains?: readonly Buffer[]): { checks: CheckOutcome[]; keys: MskRequestEntry[] } {
  let keys: MskRequestEntry[];
  try {
    keys = parseMskRequestBody(req.body, profile);
  } catch (e) {
    return { checks: [{ check: 'http.body', ok: false, message: 'the body is an MSK request of the profile shape (O3)', expected: `<${profile.xml.requestRoot}> with key domain and MSK ID elements`, actual: (e as Error).message }], keys: [] };
  }
  const checks: CheckOutcome[] = [];
  if (keys.length === 0) checks.push({ check: 'http.body', ok: false, message: 'the MSK request names at least one MSK', expected: '>= 1 (Key Domain ID, MSK ID)', actual: 0 });
  else checks.push({ check: 'http.body', ok: true, message: `MSK request for ${keys.map((k) => `${k.keyDomainId.toString('hex')}/${k.mskId.toString(16).padStart(8, '0')}`).join(', ')}` });
  const foreign = knownDomains ? keys.filter((k) => !knownDomains.some((d) => d.equals(k.keyDomainId))) : [];
  if (knownDomains && foreign.length > 0) {
    checks.push({ check: 'http.body.key-domain', ok: false, message: 'the requested MSKs belong to a Key Domain of the UE\'s services or of the keys the BM-SC sent (S-U1, O20)', expected: knownDomains.map((d) => d.toString('hex')), actual: foreign.map((k) => k.keyDomainId.toString('hex')) });
  }
  return { checks, keys };
}

/** What the credentials of one request are judged against. */
export interface CredentialsContext {
  profile: MbmsProfile;
  /**
   * The challenge whose nonce the credentials answer. `foreign`: a nonce the judge did not see issued
   * (a UE answering preemptively with a nonce of an earlier session, RFC 2617 §3.2.3 allows it); the
   * challenge is then what this BM-SC would have challenged with, and opaque and nc are not judged.
   */
  challenge: DigestChallenge;
  foreign: boolean;
  /** How often this UE used the nonce before (nc must count on), when known. */
  earlierUses?: number;
  /** The nc the step expects, overriding earlierUses + 1. */
  nc?: number;
  /** The B-TID the username must be ('same'), or must not be ('new', after re-bootstrapping). */
  username?: { btid: string; mode: 'same' | 'new' };
  /** base64(Ks_NAF), to recompute the response; absent: the response is not judged here. */
  password?: string;
}

/**
 * The directives of Digest credentials (RFC 2617 §3.2.2) against the challenge they answer, and the
 * response recomputed from the password (RFC 2617 §3.2.2.1; TS 33.246 §6.3.1: password base64(Ks_NAF)).
 */
export function judgeCredentials(req: HttpRequestEvent, c: DigestCredentials, ctx: CredentialsContext): CheckOutcome[] {
  const checks: CheckOutcome[] = [];
  const { challenge, foreign } = ctx;
  if (ctx.username?.mode === 'same') {
    checks.push(c.username === ctx.username.btid
      ? { check: 'digest.username', ok: true, message: `username is the B-TID ${c.username}` }
      : { check: 'digest.username', ok: false, message: 'username is the provisioned B-TID (TS 24.109 §5.2)', expected: ctx.username.btid, actual: c.username });
  } else if (ctx.username?.mode === 'new') {
    checks.push(c.username !== ctx.username.btid
      ? { check: 'digest.username', ok: true, message: `a new B-TID ${c.username} after re-bootstrapping` }
      : { check: 'digest.username', ok: false, message: 'after a 401 without stale the UE re-bootstraps: a new B-TID (A-U5)', expected: `a B-TID other than ${ctx.username.btid}`, actual: c.username });
  }
  checks.push(c.realm === challenge.realm
    ? { check: 'digest.realm', ok: true, message: `realm "${c.realm}" copied verbatim` }
    : { check: 'digest.realm', ok: false, message: 'realm is the challenged realm copied verbatim (RFC 2617 §3.2.2, TS 24.109 §5.2)', expected: challenge.realm, actual: c.realm });
  checks.push(c.uri === req.target
    ? { check: 'digest.uri', ok: true, message: `uri equals the Request-URI ${req.target}` }
    : { check: 'digest.uri', ok: false, message: 'the uri directive equals the Request-URI, query included (RFC 2617 §3.2.2.5)', expected: req.target, actual: c.uri });
  if (challenge.opaque !== undefined && !foreign) {
    checks.push(c.opaque === challenge.opaque
      ? { check: 'digest.opaque', ok: true, message: 'opaque echoed' }
      : { check: 'digest.opaque', ok: false, message: 'opaque is returned unchanged (RFC 2617 §3.2.2)', expected: challenge.opaque, actual: c.opaque ?? 'absent' });
  }
  const challengeAlg = normalizeAlgorithm(challenge.algorithm) ?? 'MD5';
  const usedAlg = normalizeAlgorithm(c.algorithm) ?? (c.algorithm === undefined ? 'MD5' : c.algorithm);
  checks.push(usedAlg === challengeAlg
    ? { check: 'digest.algorithm', ok: true, message: `algorithm ${usedAlg}` }
    : { check: 'digest.algorithm', ok: false, message: 'the algorithm of the challenge (RFC 2617 §3.2.2; absent = MD5)', expected: challengeAlg, actual: c.algorithm ?? 'absent (MD5)' });
  const offered = challenge.qop ?? [];
  const profileQop = ctx.profile.http.qop;
  if (offered.length === 0) {
    checks.push(c.qop === undefined && c.cnonce === undefined && c.nc === undefined
      ? { check: 'digest.qop', ok: true, message: 'no qop offered, none used' }
      : { check: 'digest.qop', ok: false, message: 'without qop-options no qop, cnonce or nc (RFC 2617 §3.2.2)', expected: 'no qop/cnonce/nc', actual: { qop: c.qop, cnonce: c.cnonce, nc: c.nc } });
  } else {
    const want = offered.includes(profileQop) ? profileQop : undefined;
    const ok = c.qop !== undefined && offered.includes(c.qop) && (want === undefined || c.qop === want);
    checks.push(ok
      ? { check: 'digest.qop', ok, message: `qop=${c.qop}` }
      : { check: 'digest.qop', ok, message: `qop is one of the offered options, the profile's ${profileQop} when offered (RFC 2617 §3.2.2, O5)`, expected: want ?? offered, actual: c.qop ?? 'absent' });
    checks.push(c.cnonce
      ? { check: 'digest.cnonce', ok: true, message: 'cnonce present' }
      : { check: 'digest.cnonce', ok: false, message: 'cnonce is sent with qop (RFC 2617 §3.2.2)', expected: 'a cnonce', actual: 'absent' });
    const known = ctx.nc !== undefined || (!foreign && ctx.earlierUses !== undefined);
    if (!known) {
      checks.push(c.nc !== undefined && /^[0-9a-fA-F]{8}$/.test(c.nc) && parseInt(c.nc, 16) > 0
        ? { check: 'digest.nc', ok: true, message: `nc=${c.nc} (earlier uses of this nonce unknown)` }
        : { check: 'digest.nc', ok: false, message: 'nc is 8 hex digits counting from 00000001 (RFC 2617 §3.2.2)', expected: '00000001 or more', actual: c.nc ?? 'absent' });
    } else {
      const wantNc = ctx.nc ?? (ctx.earlierUses ?? 0) + 1;
      const ncText = wantNc.toString(16).padStart(8, '0');
      checks.push(c.nc !== undefined && /^[0-9a-fA-F]{8}$/.test(c.nc) && parseInt(c.nc, 16) === wantNc
        ? { check: 'digest.nc', ok: true, message: `nc=${c.nc}` }
        : { check: 'digest.nc', ok: false, message: `nc counts the requests sent with this nonce, ${ncText} here (RFC 2617 §3.2.2)`, expected: ncText, actual: c.nc ?? 'absent' });
    }
  }
  if (ctx.password !== undefined) {
    try {
      const expected = computeResponse({
        algorithm: c.algorithm, username: c.username, realm: c.realm, password: ctx.password, nonce: c.nonce, cnonce: c.cnonce,
        nc: c.nc, qop: c.qop, method: req.method, uri: c.uri, body: req.body,
      });
      checks.push(digestEquals(expected.response, c.response)
        ? { check: 'digest.response', ok: true, message: `response ${c.response} recomputed with base64(Ks_NAF)${c.qop === 'auth-int' ? ' over the body' : ''}` }
        : { check: 'digest.response', ok: false, message: 'response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with password base64(Ks_NAF) (RFC 2617 §3.2.2.1)', expected: expected.response, actual: c.response });
    } catch (e) {
      checks.push({ check: 'digest.response', ok: false, message: 'the directives allow the response to be recomputed (RFC 2617 §3.2.2)', expected: 'qop with cnonce and nc', actual: (e as Error).message });
    }
  }
  return checks;
}
