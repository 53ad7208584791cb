// Client side of HTTP Digest: answers challenges, counts nc per nonce, verifies rspauth, follows stale
// and nextnonce (RFC 2617 §3.2.1-3.2.3, RFC 7616 §3.3-3.5). Faults can be injected for negative tests.
import { randomOctets } from '../random-pool.ts';
import { computeResponse, computeRspauth, computeUserhash, digestEquals, normalizeAlgorithm } from './compute.ts';
import type { DigestWorksheet } from './compute.ts';
import { DigestClientError, DigestParseError } from './errors.ts';
import { formatCredentials, parseAuthenticationInfo, parseChallenges } from './header.ts';
import type { DigestChallenge, DigestCredentials, DigestQop } from './types.ts';

/** WWW-Authenticate value(s) as received, or challenges already parsed. */
export type DigestChallengeInput = string | DigestChallenge | readonly (string | DigestChallenge)[];

export interface DigestClientOptions {
  username: string;
  password: string;
  /** cnonce source; default 16 random octets, hex. */
  cnonce?: () => string;
  /** Send H(username ":" realm) with userhash=true when the challenge asks for it (default true; RFC 7616 §3.4.4). */
  userhash?: boolean;
  /** qop used when the challenge offers both (default 'auth-int'). */
  preferQop?: DigestQop;
}

export interface DigestClientRequest {
  method: string;
  /** request-target sent on the request line; becomes the uri directive. */
  uri: string;
  /** Request body as sent (hashed for auth-int). Default empty. */
  body?: Buffer;
}

/**
 * Deliberate deviations for negative tests. Each changes only what it names; `null` omits a directive.
 * Overrides of nc/cnonce do not advance the client's own counter.
 */
export interface DigestClientFaults {
  nc?: string | null;
  cnonce?: string | null;
  nonce?: string;
  uri?: string;
  realm?: string;
  qop?: string | null;
  opaque?: string | null;
  algorithm?: string | null;
  /** Body hashed into the digest instead of the one sent (auth-int tampering). */
  bodyForDigest?: Buffer;
  password?: string;
  /** Literal response value instead of the computed one. */
  response?: string;
}

export interface DigestAuthorization {
  /** Authorization header value. */
  header: string;
  credentials: DigestCredentials;
  worksheet: DigestWorksheet;
}

export interface AuthenticationInfoCheck {
  valid: boolean;
  reason?: string;
  nextnonce?: string;
  worksheet?: DigestWorksheet;
}

interface SentRequest {
  credentials: DigestCredentials;
  password: string;
}

const QOP_PREFERENCE: Record<DigestQop, DigestQop[]> = { 'auth-int': ['auth-int', 'auth'], auth: ['auth', 'auth-int'] };

export class DigestClient {
  private readonly options: DigestClientOptions;
  private challenge?: DigestChallenge;
  private nonce?: string;
  private readonly ncByNonce = new Map<string, number>();
  // -sess: A1 is fixed by the first request after the challenge (RFC 2617 §3.2.2.2), so the cnonce of
  // that request is kept for the nonce; this also matches servers that hash each request's cnonce.
  private readonly sessCnonce = new Map<string, string>();
  private last?: SentRequest;

  constructor(options: DigestClientOptions) {
    this.options = options;
  }

  /** Nonce the next request will use (after stale / nextnonce handling). */
  get currentNonce(): string | undefined {
    return this.nonce;
  }

  /** Challenge currently answered. */
  get currentChallenge(): DigestChallenge | undefined {
    return this.challenge;
  }

  /**
   * Takes a new challenge (header value or parsed). The first Digest challenge with a known algorithm and
   * usable qop-options is chosen (RFC 7616 §3.7: the server lists its preference first; unknown
   * algorithms are ignored, RFC 2617 §3.2.1). A stale=true challenge just replaces the nonce: the same
   * password answers it.
   */
  accept(challenge: DigestChallengeInput): DigestChallenge {
    const items: readonly (string | DigestChallenge)[] = Array.isArray(challenge) ? challenge : [challenge as string | DigestChallenge];
    const list = items.flatMap((item) => (typeof item === 'string' ? parseChallenges(item) : [item]));
    const usable = list.find(
      (c) => normalizeAlgorithm(c.algorithm) !== undefined && (c.qop === undefined || c.qop.some((q) => q === 'auth' || q === 'auth-int')),
    );
    if (!usable) throw new DigestClientError('no usable Digest challenge (unknown algorithm or qop-options)');
    this.challenge = usable;
    this.nonce = usable.nonce;
    return usable;
  }

  /** Authorization header value for a request; a challenge given here is accepted first. */
  authorize(
    challenge: DigestChallengeInput | undefined,
    req: DigestClientRequest,
    faults: DigestClientFaults = {},
  ): string {
    return this.authorizeDetailed(challenge, req, faults).header;
  }

  /** As authorize(), with the credentials sent and the worksheet of the computation. */
  authorizeDetailed(
    challenge: DigestChallengeInput | undefined,
    req: DigestClientRequest,
    faults: DigestClientFaults = {},
  ): DigestAuthorization {
    if (challenge !== undefined) this.accept(challenge);
    const ch = this.challenge;
    const nonce = faults.nonce ?? this.nonce;
    if (!ch || nonce === undefined) throw new DigestClientError('no challenge received yet');

    let qop: string | undefined;
    if (ch.qop !== undefined) {
      qop = QOP_PREFERENCE[this.options.preferQop ?? 'auth-int'].find((q) => ch.qop!.includes(q));
    }
    let nc: string | undefined;
    let cnonce: string | undefined;
    const algorithm = normalizeAlgorithm(ch.algorithm);
    const session = algorithm !== undefined && algorithm.endsWith('-sess');
    if (qop !== undefined || session) {
      if (session) {
        cnonce = this.sessCnonce.get(nonce) ?? this.newCnonce();
        this.sessCnonce.set(nonce, cnonce);
      } else cnonce = this.newCnonce();
    }
    if (qop !== undefined) {
      // RFC 2617 §3.2.2: nc counts requests sent with this nonce, including this one; 8 lower-case hex.
      if (faults.nc === undefined) {
        const count = (this.ncByNonce.get(nonce) ?? 0) + 1;
        this.ncByNonce.set(nonce, count);
        nc = count.toString(16).padStart(8, '0');
      } else if (faults.nc !== null) nc = faults.nc;
    }
    const negotiatedQop = qop;
    if (faults.cnonce !== undefined) cnonce = faults.cnonce ?? undefined;
    if (faults.qop !== undefined) qop = faults.qop ?? undefined;

    const uri = faults.uri ?? req.uri;
    const realm = faults.realm ?? ch.realm;
    const password = faults.password ?? this.options.password;
    const alg = faults.algorithm === undefined ? ch.algorithm : (faults.algorithm ?? undefined);
    let worksheet: DigestWorksheet;
    let response: string;
    try {
      const r = computeResponse({
        algorithm: alg,
        username: this.options.username,
        realm,
        password,
        nonce,
        cnonce: cnonce ?? (qop !== undefined ? '' : undefined),
        nc: nc ?? (qop !== undefined ? '' : undefined),
        qop: qop === 'auth' || qop === 'auth-int' ? qop : undefined,
        method: req.method,
        uri,
        body: faults.bodyForDigest ?? req.body ?? Buffer.alloc(0),
      });
      worksheet = r.worksheet;
      response = r.response;
    } catch (err) {
      if (faults.response === undefined && faults.algorithm === undefined && faults.qop === undefined) throw err;
      // A deliberately unknown algorithm/qop cannot be computed: send a placeholder digest.
      response = faults.response ?? '0'.repeat(32);
      worksheet = computeResponse({ username: this.options.username, realm, password, nonce, method: req.method, uri }).worksheet;
    }
    if (faults.response !== undefined) response = faults.response;

    const hashUser = ch.userhash === true && (this.options.userhash ?? true) && normalizeAlgorithm(alg) !== undefined;
    const username = hashUser ? computeUserhash(alg, this.options.username, realm) : this.options.username;
    const credentials: DigestCredentials = { username, realm, nonce, uri, response, extra: {} };
    if (hashUser) credentials.userhash = true;
    if (alg !== undefined) credentials.algorithm = alg;
    if (qop !== undefined) credentials.qop = qop;
    if (nc !== undefined) credentials.nc = nc;
    if (cnonce !== undefined && (negotiatedQop !== undefined || faults.cnonce !== undefined)) credentials.cnonce = cnonce;
    const opaque = faults.opaque === undefined ? ch.opaque : (faults.opaque ?? undefined);
    if (opaque !== undefined) credentials.opaque = opaque;
    this.last = { credentials, password };
    return { header: formatCredentials(credentials), credentials, worksheet };
  }

  /**
   * Checks an Authentication-Info value against the last request (RFC 2617 §3.2.3): qop, cnonce and nc
   * echoed, rspauth over the response body for auth-int. A valid nextnonce replaces the nonce (nc restarts).
   */
  verifyAuthenticationInfo(headerValue: string | undefined, opts: { responseBody: Buffer }): AuthenticationInfoCheck {
    const sent = this.last;
    if (!sent) return { valid: false, reason: 'no request was authorized' };
    if (headerValue === undefined) return { valid: false, reason: 'no Authentication-Info header' };
    let info;
    try {
      info = parseAuthenticationInfo(headerValue);
    } catch (err) {
      if (err instanceof DigestParseError) return { valid: false, reason: err.message };
      throw err;
    }
    const c = sent.credentials;
    const nextnonce = info.nextnonce;
    if (info.rspauth === undefined) return { valid: false, reason: 'rspauth missing', nextnonce };
    if (info.qop !== c.qop) return { valid: false, reason: `qop "${info.qop}" differs from sent "${c.qop}"`, nextnonce };
    if (info.cnonce !== c.cnonce) return { valid: false, reason: `cnonce "${info.cnonce}" not echoed ("${c.cnonce}")`, nextnonce };
    if (info.nc !== c.nc) return { valid: false, reason: `nc "${info.nc}" not echoed ("${c.nc}")`, nextnonce };
    const expected = computeRspauth({
      algorithm: c.algorithm,
      username: this.options.username,
      realm: c.realm,
      password: sent.password,
      nonce: c.nonce,
      cnonce: c.cnonce,
      nc: c.nc,
      qop: c.qop,
      method: '',
      uri: c.uri,
      responseBody: opts.responseBody,
    });
    if (!digestEquals(expected.rspauth, info.rspauth)) {
      // Words only: the expected rspauth is derived from the password; the worksheet carries the values for
      // a report that may show them (redacted unless the profile allows secrets).
      return { valid: false, reason: 'rspauth does not verify (wrong password or altered response)', nextnonce, worksheet: expected.worksheet };
    }
    // RFC 2617 §3.2.3: the client SHOULD use nextnonce for its next request; trusted only once rspauth holds.
    if (nextnonce !== undefined) this.nonce = nextnonce;
    const result: AuthenticationInfoCheck = { valid: true, worksheet: expected.worksheet };
    if (nextnonce !== undefined) result.nextnonce = nextnonce;
    return result;
  }

  private newCnonce(): string {
    return this.options.cnonce ? this.options.cnonce() : randomOctets(16).toString('hex');
  }
}
