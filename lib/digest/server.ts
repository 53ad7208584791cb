// Server-side Digest verifier with a nonce store (RFC 2617 §3.2.1-3.2.3, RFC 7616 §3.3-3.5, §5.4-5.5).
import { randomOctets } from '../random-pool.ts';
import { computeResponse, computeRspauth, computeUserhash, digestEquals, normalizeAlgorithm } from './compute.ts';
import { DigestInputError, DigestParseError } from './errors.ts';
import { formatAuthenticationInfo, formatChallenge, parseCredentials } from './header.ts';
import type { AuthenticationInfo, DigestAlgorithm, DigestChallenge, DigestCredentials, DigestQop } from './types.ts';
import type { DigestWorksheet } from './compute.ts';

export interface DigestServerOptions {
  realm: string;
  /** qop-options offered, in order of preference; empty = RFC 2069 mode (no qop). */
  qop: DigestQop[];
  /** Default MD5. */
  algorithm?: DigestAlgorithm;
  /** Nonce lifetime; default 300 000 ms. */
  nonceTtlMs?: number;
  /** Send a random opaque with each challenge and require it echoed (default true). */
  opaque?: boolean;
  lookupPassword(username: string): string | undefined;
  /** Clock in ms; default Date.now (inject for expiry tests). */
  now?: () => number;
  /** Accept each nonce for one request only (RFC 2617 §3.2.1 one-time nonces, e.g. for POST). */
  oneTimeNonce?: boolean;
  /**
   * Advertise userhash=true (RFC 7616 §3.4.4); hashed usernames are resolved by hashing every name that
   * `users` lists. Plain usernames stay accepted.
   */
  userhash?: boolean;
  users?: () => Iterable<string>;
  /** Random octets per nonce (default 24, base64 encoded). */
  nonceBytes?: number;
  /**
   * Nonces remembered at most (default 65,536): past it the oldest is forgotten early, and a request with it
   * is challenged afresh, as with any nonce the server no longer knows (RFC 7616 §3.3 leaves a nonce's
   * lifetime to the server). Memory stays bounded whatever the rate of challenges: at 1,000 a second, two
   * lifetimes of 300 s were 600,000 records, and the old generation's collections grew into the latency.
   */
  maxNonces?: number;
  /** Nonce source instead of random octets (random-pool.ts): reproducible runs, published vectors. */
  newNonce?: () => string;
  /** Opaque source instead of random octets (random-pool.ts). */
  newOpaque?: () => string;
}

export type DigestOutcome =
  | 'ok'
  | 'missing' // no Authorization header
  | 'scheme' // Authorization with another auth-scheme
  | 'malformed' // grammar error or required directive missing (DigestParseError)
  | 'directives' // cnonce/nc present without qop or absent with qop, nc not 8 hex digits
  | 'qop' // qop not among the offered ones (or sent when none offered)
  | 'algorithm' // algorithm not the one challenged
  | 'opaque' // opaque not echoed as issued
  | 'uri-mismatch' // uri directive differs from the request-target
  | 'realm-mismatch'
  | 'unknown-nonce' // never issued by this server (or forgotten); digest valid, answered with stale=true
  | 'unknown-user'
  | 'bad-response' // digest wrong (wrong password, tampered body under auth-int, ...)
  | 'stale' // nonce expired, digest otherwise correct
  | 'replay'; // nc not strictly increasing for the nonce, or one-time nonce reused

export interface DigestVerifyRequest {
  method: string;
  /** request-target exactly as received on the request line. */
  uri: string;
  /** Authorization header value, undefined when absent. */
  authorization: string | undefined;
  /** Request body bytes as received (after transfer-coding removal), hashed for auth-int. */
  body: Buffer;
}

export interface DigestVerifyResult {
  outcome: DigestOutcome;
  status: 200 | 400 | 401;
  reason: string;
  credentials?: DigestCredentials;
  username?: string;
  /** Fresh challenge for a 401 (stale=true only for the 'stale' outcome). */
  wwwAuthenticate?: string;
  parseError?: DigestParseError;
  /** Expected-digest computation (password redacted), once the request got that far. */
  worksheet?: DigestWorksheet;
}

/** Deliberate deviations of Authentication-Info (reference BM-SC fault injection); `null` omits. */
export interface AuthenticationInfoFaults {
  rspauth?: string | null;
  qop?: string | null;
  cnonce?: string | null;
  nc?: string | null;
  /** Response body hashed into rspauth instead of the one sent. */
  responseBodyForDigest?: Buffer;
  /** Password used for rspauth instead of the user's. */
  password?: string;
  /** Literal nextnonce (not registered) instead of a freshly issued one. */
  nextnonce?: string;
}

export interface AuthenticationInfoOptions {
  responseBody: Buffer;
  /** Issue and announce a next nonce (RFC 2617 §3.2.3). */
  nextnonce?: boolean;
  faults?: AuthenticationInfoFaults;
}

interface NonceRecord {
  issuedAt: number;
  expiresAt: number;
  opaque?: string;
  /** Highest nc accepted for this nonce (0 = none yet). */
  lastNc: number;
  uses: number;
}

const NC_FORMAT = /^[0-9a-fA-F]{8}$/;

export class DigestServer {
  readonly realm: string;
  readonly qop: readonly DigestQop[];
  readonly algorithm: DigestAlgorithm;
  readonly nonceTtlMs: number;
  private readonly options: DigestServerOptions;
  private readonly now: () => number;
  private readonly nonces = new Map<string, NonceRecord>();
  /**
   * The nonces in the order they were issued, from `orderHead` on: expired and evicted ones leave from the
   * head. A queue beside the map, because walking a Map from its start after deleting from its start walks
   * every deleted slot again until V8 rehashes the table (a load run at 2,000 challenges a second collapsed
   * half a minute in, once the cap was reached).
   */
  private order: string[] = [];
  private orderHead = 0;

  constructor(options: DigestServerOptions) {
    this.options = options;
    this.realm = options.realm;
    this.qop = [...options.qop];
    this.algorithm = options.algorithm ?? 'MD5';
    this.nonceTtlMs = options.nonceTtlMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /** Issues a nonce (and opaque) and returns the WWW-Authenticate value (RFC 7616 §3.3). */
  challenge(opts: { stale?: boolean } = {}): string {
    return formatChallenge(this.challengeObject(opts));
  }

  /** As challenge(), parsed form. */
  challengeObject(opts: { stale?: boolean } = {}): DigestChallenge {
    const withOpaque = this.options.opaque ?? true;
    const opaque = withOpaque ? (this.options.newOpaque?.() ?? randomOctets(16).toString('base64')) : undefined;
    const nonce = this.issueNonce(opaque);
    const c: DigestChallenge = { realm: this.realm, nonce, extra: {} };
    if (this.qop.length > 0) c.qop = [...this.qop];
    if (opaque !== undefined) c.opaque = opaque;
    c.algorithm = this.algorithm;
    if (opts.stale) c.stale = true;
    if (this.options.userhash) c.userhash = true;
    return c;
  }

  /** Number of nonces currently remembered (expired ones are purged lazily). */
  get nonceCount(): number {
    return this.nonces.size;
  }

  private issueNonce(opaque: string | undefined): string {
    const now = this.now();
    this.purge(now);
    while (this.nonces.size >= (this.options.maxNonces ?? 65_536)) this.nonces.delete(this.shiftOrder()!);
    const nonce = this.options.newNonce?.() ?? randomOctets(this.options.nonceBytes ?? 24).toString('base64');
    this.nonces.set(nonce, { issuedAt: now, expiresAt: now + this.nonceTtlMs, opaque, lastNc: 0, uses: 0 });
    this.order.push(nonce);
    return nonce;
  }

  // Expired nonces are kept one more lifetime so that a late request still gets stale=true, then dropped.
  // The queue holds them in the order they were issued, with one lifetime each, so the expired ones are at
  // its head: the walk stops at the first one still kept (it was a scan of every nonce per challenge,
  // quadratic under load: 300,000 nonces remembered at 1,000 challenges a second).
  private purge(now: number): void {
    while (this.orderHead < this.order.length) {
      const rec = this.nonces.get(this.order[this.orderHead]!);
      if (rec && rec.expiresAt + this.nonceTtlMs >= now) break;
      this.nonces.delete(this.shiftOrder()!);
    }
  }

  /** Takes the oldest nonce off the queue (compacting it once half of it is taken). */
  private shiftOrder(): string | undefined {
    const nonce = this.order[this.orderHead++];
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    return nonce;
  }

  private reject(
    outcome: DigestOutcome,
    status: 400 | 401,
    reason: string,
    extra: Partial<DigestVerifyResult> = {},
    stale = outcome === 'stale',
  ): DigestVerifyResult {
    const result: DigestVerifyResult = { outcome, status, reason, ...extra };
    if (status === 401) result.wwwAuthenticate = this.challenge({ stale });
    return result;
  }

  /** The real username: credentials.username, or the user whose H(user ":" realm) it is (RFC 7616 §3.4.4). */
  private resolveUsername(c: DigestCredentials): string | undefined {
    if (!c.userhash) return c.username;
    for (const user of this.options.users?.() ?? []) {
      if (digestEquals(computeUserhash(c.algorithm, user, c.realm), c.username)) return user;
    }
    return undefined;
  }

  /** Judges one request's Authorization header (RFC 2617 §3.2.2, RFC 7616 §3.4). */
  verify(req: DigestVerifyRequest): DigestVerifyResult {
    if (req.authorization === undefined || req.authorization.trim() === '') {
      return this.reject('missing', 401, 'no Authorization header');
    }
    const scheme = req.authorization.trim().split(/[ \t]/, 1)[0] ?? '';
    if (scheme.toLowerCase() !== 'digest') return this.reject('scheme', 401, `auth-scheme "${scheme}" is not Digest`);
    let credentials: DigestCredentials;
    try {
      credentials = parseCredentials(req.authorization);
    } catch (err) {
      if (err instanceof DigestParseError) {
        // RFC 2617 §3.2.2: improper or missing directives -> 400 Bad Request.
        return this.reject('malformed', 400, err.message, { parseError: err });
      }
      throw err;
    }
    const c = credentials;
    const base: Partial<DigestVerifyResult> = { credentials: c, username: c.username };

    // RFC 2617 §3.2.2: cnonce and nc MUST be present iff qop is; nc is 8LHEX.
    if (c.qop !== undefined) {
      if (c.cnonce === undefined) return this.reject('directives', 400, 'qop present but cnonce missing', base);
      if (c.nc === undefined) return this.reject('directives', 400, 'qop present but nc missing', base);
      if (!NC_FORMAT.test(c.nc)) return this.reject('directives', 400, `nc "${c.nc}" is not 8 hex digits`, base);
    } else {
      if (c.cnonce !== undefined || c.nc !== undefined) {
        return this.reject('directives', 400, 'cnonce/nc present without qop', base);
      }
    }
    // qop must be one of the offered values; without qop-options the client must not send one.
    if (this.qop.length > 0) {
      if (c.qop === undefined) return this.reject('qop', 400, `qop missing, offered ${this.qop.join(',')}`, base);
      if (!this.qop.includes(c.qop as DigestQop)) return this.reject('qop', 400, `qop "${c.qop}" not offered (${this.qop.join(',')})`, base);
    } else if (c.qop !== undefined) {
      return this.reject('qop', 400, `qop "${c.qop}" sent but none offered`, base);
    }
    // algorithm echoed (absent = MD5).
    if (normalizeAlgorithm(c.algorithm) !== this.algorithm) {
      return this.reject('algorithm', 400, `algorithm "${c.algorithm ?? '(absent = MD5)'}" differs from challenged ${this.algorithm}`, base);
    }
    // RFC 2617 §3.2.2.5: the uri directive must name the request-target; 400 otherwise.
    if (c.uri !== req.uri) {
      return this.reject('uri-mismatch', 400, `uri "${c.uri}" differs from request-target "${req.uri}"`, base);
    }
    if (c.realm !== this.realm) return this.reject('realm-mismatch', 401, `realm "${c.realm}" is not "${this.realm}"`, base);

    const record = this.nonces.get(c.nonce);
    if (record && record.opaque !== undefined && c.opaque !== record.opaque) {
      return this.reject('opaque', 400, c.opaque === undefined ? 'opaque not echoed' : `opaque "${c.opaque}" is not the one issued`, base);
    }

    // -sess hashes the cnonce into A1 (RFC 7616 §3.4.2), which is only sent with qop.
    if (this.algorithm.endsWith('-sess') && c.cnonce === undefined) {
      return this.reject('directives', 400, `${this.algorithm} requires cnonce`, base);
    }
    const username = this.resolveUsername(c);
    if (username === undefined) return this.reject('unknown-user', 401, `userhash "${c.username}" matches no known user`, base);
    base.username = username;
    const password = this.options.lookupPassword(username);
    if (password === undefined) return this.reject('unknown-user', 401, `unknown user "${username}"`, base);
    const expected = computeResponse({
      algorithm: c.algorithm,
      username,
      realm: c.realm,
      password,
      nonce: c.nonce,
      cnonce: c.cnonce,
      nc: c.nc,
      qop: c.qop,
      method: req.method,
      uri: c.uri,
      body: req.body,
    });
    const checked = { ...base, worksheet: expected.worksheet };
    if (!digestEquals(expected.response, c.response)) {
      // The reason reaches the peer (401 body) and the logs: words only. The expected digest would let
      // anyone who reads it authenticate without the password (RFC 7616 §5.12: the digest is a credential).
      return this.reject('bad-response', 401, 'the response digest does not verify (wrong password or altered request)', checked);
    }
    // The digest is right; only now may the nonce's state decide (RFC 2617 §3.2.1: stale only if digest valid).
    // An unknown nonce with a valid digest (e.g. issued before a restart) gets stale=true: the client
    // knows the password, only the nonce is unusable.
    if (!record) return this.reject('unknown-nonce', 401, 'nonce not issued by this server or forgotten; digest valid', checked, true);
    const now = this.now();
    if (now >= record.expiresAt) return this.reject('stale', 401, `nonce expired ${now - record.expiresAt} ms ago; digest valid`, checked);
    if (this.options.oneTimeNonce && record.uses > 0) return this.reject('replay', 401, 'one-time nonce already used', checked);
    if (c.nc !== undefined) {
      const nc = parseInt(c.nc, 16);
      if (nc <= record.lastNc) {
        return this.reject('replay', 401, nc === record.lastNc ? `nc ${c.nc} replayed` : `nc ${c.nc} not above last accepted ${record.lastNc.toString(16).padStart(8, '0')}`, checked);
      }
      record.lastNc = nc;
    }
    record.uses++;
    return { outcome: 'ok', status: 200, reason: 'authenticated', ...checked };
  }

  /**
   * Authentication-Info for a successful request (RFC 2617 §3.2.3): rspauth (auth-int over the response
   * body), qop/cnonce/nc echoed, nextnonce when asked (same opaque as the request's nonce).
   */
  authenticationInfo(credentials: DigestCredentials, opts: AuthenticationInfoOptions): string {
    return this.authenticationInfoDetailed(credentials, opts).header;
  }

  /** As authenticationInfo(), with the parsed value and the rspauth worksheet. */
  authenticationInfoDetailed(
    credentials: DigestCredentials,
    opts: AuthenticationInfoOptions,
  ): { header: string; info: AuthenticationInfo; worksheet: DigestWorksheet } {
    const faults = opts.faults ?? {};
    const username = this.resolveUsername(credentials);
    const password = faults.password ?? (username === undefined ? undefined : this.options.lookupPassword(username));
    if (username === undefined || password === undefined) {
      throw new DigestInputError(`authenticationInfo: unknown user "${credentials.username}"`);
    }
    const { rspauth, worksheet } = computeRspauth({
      algorithm: credentials.algorithm,
      username,
      realm: credentials.realm,
      password,
      nonce: credentials.nonce,
      cnonce: credentials.cnonce,
      nc: credentials.nc,
      qop: credentials.qop,
      method: '',
      uri: credentials.uri,
      responseBody: faults.responseBodyForDigest ?? opts.responseBody,
    });
    const info: AuthenticationInfo = {};
    const pick = (fault: string | null | undefined, value: string | undefined): string | undefined =>
      fault === undefined ? value : (fault ?? undefined);
    const qop = pick(faults.qop, credentials.qop);
    const rsp = pick(faults.rspauth, rspauth);
    const cnonce = pick(faults.cnonce, credentials.cnonce);
    const nc = pick(faults.nc, credentials.nc);
    if (faults.nextnonce !== undefined) info.nextnonce = faults.nextnonce;
    else if (opts.nextnonce) info.nextnonce = this.issueNonce(this.nonces.get(credentials.nonce)?.opaque);
    if (qop !== undefined) info.qop = qop;
    if (rsp !== undefined) info.rspauth = rsp;
    if (cnonce !== undefined) info.cnonce = cnonce;
    if (nc !== undefined) info.nc = nc;
    return { header: formatAuthenticationInfo(info), info, worksheet };
  }
}
