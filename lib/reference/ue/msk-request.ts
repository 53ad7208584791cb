// The UE side of the UE-initiated MSK request (TS 33.246 §6.3.1; protocol §1.1, §2, §3): HTTP POST of the
// MSK request body, HTTP Digest with GBA credentials (username B-TID, password base64(Ks_NAF)), rspauth
// verification, stale and nextnonce handling. One DigestClient per B-TID keeps the nonce and nc across
// requests, so a later request answers preemptively with the held nonce (RFC 2617 §3.2.3 nextnonce).
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import {
  DigestClient, parseChallenges, type DigestChallenge, type DigestClientFaults,
} from '../../digest/index.ts';
import {
  buildMskRequestBody, digestPassword, mskRequestTarget, parseMskResponseBody, realmHost, realmMatches,
  type MbmsProfile, type MskRequestEntry, type MskResponseEntry,
} from '../../mbms/index.ts';
import type { FaultSet } from '../common/index.ts';

/** Product part of the User-Agent; the 3GPP token follows it (TS 24.109 Annex B.3). */
export const UE_PRODUCT = 'mbms-conform-reference-ue/0.1';

/** Why an MSK request was started (protocol §1.1 triggers). */
export type MskRequestReason = 'control' | 'join' | 'solicited-pull' | 'missed-key';

export interface HttpExchangeRecord {
  request: { method: string; target: string; headers: Record<string, string>; body: Buffer };
  response?: { status: number; headers: IncomingHttpHeaders; body: Buffer };
  error?: string;
}

export interface MskRequestOutcome {
  reason: MskRequestReason;
  /** Status of the last HTTP response (0 when no response arrived). */
  httpStatus: number;
  /** Whether the final 200 OK carried a valid rspauth (undefined when there was no 200). */
  rspauthValid?: boolean;
  /** The response was accepted: authenticated (or rspauth ignored by fault) and its body parsed. */
  accepted: boolean;
  results: MskResponseEntry[];
  exchanges: number;
  /** A 401 without stale after credentials were sent: the UE needs a new GBA run (protocol §3.3). */
  bootstrapRequired: boolean;
  /** Why the outcome is not a success, when it is not. */
  problem?: string;
}

export interface MskRequesterOptions {
  /** GBA credentials: B-TID (Digest username) and the key whose base64 is the Digest password (protocol §3.3). */
  credentials: () => { btid: string; ksNaf: Buffer } | undefined;
  bmscUrl: string;
  /** The UE's own address: its MSK requests leave from it, as its MIKEY traffic does (one device, one address). */
  localAddress?: string;
  nafFqdn: string;
  profile: MbmsProfile;
  faults: FaultSet;
  /** Called as each request leaves (before the response). */
  onRequest?: (request: HttpExchangeRecord['request'], reason: MskRequestReason) => void;
  /** Called when an exchange ends (response or failure). */
  onExchange: (exchange: HttpExchangeRecord, reason: MskRequestReason) => void;
}

// A retry chain is at most: (unauthenticated or preemptive) -> 401 -> answer -> 401 stale -> answer.
const MAX_EXCHANGES = 4;

export class MskRequester {
  readonly #options: MskRequesterOptions;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  #client?: { btid: string; digest: DigestClient };

  constructor(options: MskRequesterOptions) {
    this.#options = options;
  }

  /** Drops the Digest state (new B-TID: new credentials, no nonce to reuse). */
  reset(): void {
    this.#client = undefined;
  }

  close(): void {
    this.#agent.destroy();
  }

  #digestFor(btid: string, ksNaf: Buffer): DigestClient {
    if (this.#client?.btid !== btid) {
      this.#client = { btid, digest: new DigestClient({ username: btid, password: digestPassword(ksNaf), preferQop: this.#options.profile.http.qop }) };
    }
    return this.#client.digest;
  }

  /**
   * One MSK request at a time: the Digest state (nonce, nc, the challenge an rspauth is checked against)
   * belongs to one exchange, and two overlapping requests (a pull on a trigger and on its retransmission,
   * a missed-key request) would judge each other's answers. Later requests wait for the one in flight.
   */
  request(keys: readonly MskRequestEntry[], reason: MskRequestReason): Promise<MskRequestOutcome> {
    const run = this.#queue.then(() => this.#request(keys, reason));
    this.#queue = run.then(() => undefined, () => undefined);
    return run;
  }

  #queue: Promise<void> = Promise.resolve();

  async #request(keys: readonly MskRequestEntry[], reason: MskRequestReason): Promise<MskRequestOutcome> {
    const { profile, faults } = this.#options;
    const outcome: MskRequestOutcome = { reason, httpStatus: 0, accepted: false, results: [], exchanges: 0, bootstrapRequired: false };
    const credentials = this.#options.credentials();
    if (!credentials) return { ...outcome, problem: 'no GBA credentials (bootstrap first)' };
    const digest = this.#digestFor(credentials.btid, credentials.ksNaf);
    const target = mskRequestTarget(profile);
    const body = Buffer.from(buildMskRequestBody(keys, profile), 'utf8');

    while (outcome.exchanges < MAX_EXCHANGES) {
      const headers: Record<string, string> = {
        'User-Agent': faults.has('ue-no-user-agent-token') ? UE_PRODUCT : `${UE_PRODUCT} ${profile.http.userAgentToken}`,
        'Content-Type': profile.http.requestContentType,
        'Content-Length': String(body.length),
      };
      // Preemptive answer with the held nonce (after a first exchange or a nextnonce), RFC 2617 §3.2.3.
      if (digest.currentChallenge && digest.currentNonce !== undefined) {
        headers.Authorization = digest.authorize(undefined, { method: 'POST', uri: target, body }, this.#digestFaults(digest.currentChallenge));
      }
      outcome.exchanges += 1;
      const exchange = await this.#send(target, headers, body, reason);
      if (!exchange.response) return { ...outcome, problem: `HTTP failed: ${exchange.error ?? 'no response'}` };
      const response = exchange.response;
      outcome.httpStatus = response.status;

      if (response.status === 401) {
        const challenge = pickChallenge(response.headers['www-authenticate']);
        if (!challenge) return { ...outcome, problem: '401 without a usable Digest challenge' };
        // O6: only answer a GBA realm of the configured BM-SC (otherwise the password would go to anyone).
        const fqdn = profile.http.checkRealmHost ? this.#options.nafFqdn : undefined;
        if (!realmMatches(challenge.realm, profile.http.realmPrefixes, fqdn)) {
          return { ...outcome, problem: `realm "${challenge.realm}" is not a GBA realm of ${this.#options.nafFqdn}` };
        }
        const sentCredentials = headers.Authorization !== undefined;
        if (sentCredentials && !challenge.stale) {
          // RFC 2617 §3.2.1: without stale the credentials themselves were refused -> new GBA run needed.
          this.reset();
          return { ...outcome, bootstrapRequired: true, problem: '401 without stale=true after credentials: bootstrapping required' };
        }
        if (challenge.stale && faults.has('ue-rebootstrap-on-stale')) {
          this.reset();
          return { ...outcome, bootstrapRequired: true, problem: 'stale=true treated as credential failure (fault ue-rebootstrap-on-stale)' };
        }
        // stale=true: same credentials, new nonce, no re-bootstrapping (protocol §3.2).
        digest.accept(challenge);
        continue;
      }
      if (response.status !== 200) return { ...outcome, problem: `HTTP ${response.status}` };
      return { ...outcome, ...this.#judge200(digest, response) };
    }
    return { ...outcome, problem: `gave up after ${MAX_EXCHANGES} exchanges` };
  }

  /** Digest deviations of the active faults (each a single directive). */
  #digestFaults(challenge: DigestChallenge): DigestClientFaults {
    const { faults, profile } = this.#options;
    const out: DigestClientFaults = {};
    if (faults.has('ue-wrong-nc')) out.nc = '00000000';
    if (faults.has('ue-wrong-realm')) out.realm = `3GPP-bootstrapping-digest@${realmHost(challenge.realm) ?? this.#options.nafFqdn}`;
    if (faults.has('ue-wrong-digest-uri')) out.uri = profile.http.path;
    if (faults.has('ue-qop-auth') && challenge.qop !== undefined) out.qop = 'auth';
    return out;
  }

  #judge200(digest: DigestClient, response: NonNullable<HttpExchangeRecord['response']>): Partial<MskRequestOutcome> {
    const { profile, faults } = this.#options;
    const before = digest.currentChallenge!;
    const header = response.headers['authentication-info'];
    const check = digest.verifyAuthenticationInfo(Array.isArray(header) ? header[0] : header, { responseBody: response.body });
    let problem: string | undefined;
    if (!check.valid) {
      if (faults.has('ue-ignore-rspauth')) {
        // The faulty UE also trusts what the unauthenticated Authentication-Info says.
        if (check.nextnonce !== undefined) digest.accept({ ...before, nonce: check.nextnonce, stale: false });
      } else if (profile.http.rspauthMandatory) {
        return { rspauthValid: false, accepted: false, problem: `Authentication-Info rejected: ${check.reason}` };
      }
    } else if (check.nextnonce !== undefined && (faults.has('ue-ignore-nextnonce') || !profile.http.nextnonce)) {
      digest.accept(before); // back to the old nonce; its nc keeps counting
    }
    const type = String(response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== profile.http.responseContentType.toLowerCase()) {
      problem = `Content-Type "${type}" is not ${profile.http.responseContentType}`;
    }
    try {
      const results = parseMskResponseBody(response.body, profile);
      return { rspauthValid: check.valid, accepted: true, results, ...(problem ? { problem } : {}) };
    } catch (error) {
      return { rspauthValid: check.valid, accepted: false, problem: (error as Error).message };
    }
  }

  #send(target: string, headers: Record<string, string>, body: Buffer, reason: MskRequestReason, retried = false): Promise<HttpExchangeRecord> {
    const url = new URL(target, this.#options.bmscUrl);
    const record: HttpExchangeRecord = { request: { method: 'POST', target, headers, body } };
    return new Promise((resolve) => {
      let responded = false;
      const req = httpRequest({
        host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 80, method: 'POST', path: target, headers,
        agent: this.#agent, timeout: this.#options.profile.timers.httpMs,
        ...(this.#options.localAddress ? { localAddress: this.#options.localAddress } : {}),
      }, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          record.response = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
          this.#options.onExchange(record, reason);
          resolve(record);
        });
        res.on('error', (error) => { record.error = error.message; this.#options.onExchange(record, reason); resolve(record); });
      });
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.#options.profile.timers.httpMs} ms`)));
      req.on('error', (error) => {
        // A kept-alive connection the server closed in the meantime (idle timeout, restart) fails before any
        // response: the request never reached the server, so it is sent once more on a new connection
        // (RFC 9112 §9.3.1 allows retrying when the connection closed before a response).
        if (!responded && !retried && req.reusedSocket) {
          resolve(this.#send(target, headers, body, reason, true));
          return;
        }
        record.error = error.message;
        this.#options.onExchange(record, reason);
        resolve(record);
      });
      if (!retried) this.#options.onRequest?.(record.request, reason);
      req.end(body);
    });
  }
}

/** The first Digest challenge of a WWW-Authenticate value (or values), undefined when none parses. */
function pickChallenge(value: string | string[] | undefined): DigestChallenge | undefined {
  for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
    try {
      const found = parseChallenges(v)[0];
      if (found) return found;
    } catch {
      // an unparsable challenge is ignored like an unknown scheme (RFC 7235 §4.1)
    }
  }
  return undefined;
}
