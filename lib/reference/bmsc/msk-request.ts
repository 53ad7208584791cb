// The UE-initiated MSK request of the reference BM-SC (TS 33.246 §6.3.1): the HTTP resource, HTTP Digest
// with the GBA credentials (RFC 2617, TS 24.109 §5.2: password base64(Ks_NAF), realm
// "3GPP-bootstrapping@<NAF FQDN>"), per-MSK authorisation and the response body, then the MSK messages of
// the granted MSKs over MIKEY (deliveries.ts) once the 200 OK is written.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DigestServer, type DigestCredentials, type DigestVerifyResult } from '../../digest/index.ts';
import {
  MbmsBodyError, buildMskResponseBody, digestPassword, mskRequestTarget, parseMskRequestBody, realm, type MskResponseEntry,
} from '../../mbms/index.ts';
import { formatEndpoint, readRequestBody, type Endpoint } from '../common/index.ts';
import type { BmscUser } from './config.ts';
import { isSubscribed, now, type BmscContext } from './context.ts';
import type { Deliveries } from './deliveries.ts';
import type { Msk } from './state.ts';

/** MSK request bodies list a few key IDs; anything this large is not one (protocol §2.3). */
const MAX_REQUEST_BODY = 64 * 1024;

interface HttpAnswer {
  status: number;
  outcome: string;
  headers: [string, string][];
  body: Buffer;
  btid?: string;
}

export class MskRequests {
  readonly #ctx: BmscContext;
  readonly #deliveries: Deliveries;
  #digest: DigestServer;
  #nextRequestId = 1;

  constructor(ctx: BmscContext, deliveries: Deliveries) {
    this.#ctx = ctx;
    this.#deliveries = deliveries;
    this.#digest = this.#makeDigestServer();
  }

  /** The Digest server of the current realm: a change of faults that changes the realm takes effect on the next request. */
  #digestServer(): DigestServer {
    if (this.#digest.realm !== this.#realm()) this.#digest = this.#makeDigestServer();
    return this.#digest;
  }

  #realm(): string {
    const { config, profile, hooks } = this.#ctx;
    return hooks.value('challengeRealm', realm(config.nafFqdn, profile.http.realmPrefixes[0]), { nafFqdn: config.nafFqdn });
  }

  #makeDigestServer(): DigestServer {
    const { profile, users } = this.#ctx;
    return new DigestServer({
      realm: this.#realm(),
      qop: [profile.http.qop],
      algorithm: profile.http.algorithm,
      nonceTtlMs: profile.http.nonceTtlMs,
      now: () => this.#ctx.clock(),
      // Digest password on Ua = base64(Ks_NAF) (protocol §3.3).
      lookupPassword: (username) => {
        const rec = users.get(username);
        return rec ? digestPassword(rec.user.ksNaf) : undefined;
      },
    });
  }

  /** The HTTP server's request listener. */
  async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const emit = this.#ctx.emit;
    // Read before the body: an aborted upload destroys the socket, and its address with it.
    const remote = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const local = { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 };
    let body: Buffer;
    try {
      body = await readRequestBody(req, MAX_REQUEST_BODY, (limit) => new RangeError(`body over ${limit} octets`));
    } catch (error) {
      // An aborted upload or an oversized body: answer if the socket still can, never deliver keys.
      const tooLarge = error instanceof RangeError;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(tooLarge ? 413 : 400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        res.end(tooLarge ? `request body larger than ${MAX_REQUEST_BODY} octets\n` : 'request body unreadable\n');
      }
      emit('warning', { time: now(), message: `HTTP request from ${formatEndpoint(remote)}: ${(error as Error).message}` });
      return;
    }
    const id = this.#nextRequestId++;
    const target = req.url ?? '/';
    emit('http-request', { time: now(), id, remote, local, method: req.method ?? '', target, headers: headerPairs(req.rawHeaders), body });
    let answer: HttpAnswer;
    let send: (() => Promise<void>) | undefined;
    try {
      ({ answer, send } = this.#handle(req, target, body, remote));
    } catch (error) {
      // The peer learns only that it failed; the cause (which may name internal state) goes to the log.
      emit('warning', { time: now(), message: `HTTP request from ${formatEndpoint(remote)}: internal error: ${(error as Error).message}` });
      answer = { status: 500, outcome: 'internal-error', headers: [['Content-Type', 'text/plain']], body: Buffer.from('internal error\n') };
    }
    // 6.3.1: "If the key request ... resulted to success, the BM-SC sends MIKEY messages": after the 200 OK.
    const before = send !== undefined && this.#ctx.hooks.value('mikeyBeforeResponse', false, {});
    if (before) await send!();
    const headers = [...answer.headers, ['Content-Length', String(answer.body.length)]] as [string, string][];
    res.writeHead(answer.status, headers.flat());
    res.end(answer.body, () => {
      emit('http-response', {
        time: now(), requestId: id, remote, status: answer.status, headers, body: answer.body, outcome: answer.outcome,
        ...(answer.btid ? { btid: answer.btid } : {}),
      });
      if (send && !before) void send();
    });
  }

  #handle(req: IncomingMessage, target: string, body: Buffer, remote: Endpoint): { answer: HttpAnswer; send?: () => Promise<void> } {
    const { profile, users, hooks } = this.#ctx;
    const http = profile.http;
    const expectedTarget = mskRequestTarget(profile);
    if (target !== expectedTarget) {
      return { answer: textAnswer(404, 'not-found', `no resource ${target}; MSK requests go to ${expectedTarget}`) };
    }
    if (req.method !== 'POST') {
      const a = textAnswer(405, 'method', 'MSK requests use POST');
      a.headers.push(['Allow', 'POST']);
      return { answer: a };
    }
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0);
    if (!hooks.value('acceptHeaders', true, { names })) return { answer: textAnswer(400, 'headers', 'unexpected header field') };
    let credentials: DigestCredentials | undefined;
    let btid: string;
    let outcome: string;
    const unchallenged = !req.headers.authorization && !hooks.value('authenticate', true, {})
      ? this.#userByAddress(remote.address) : undefined;
    if (unchallenged) {
      // 6.3.1 / RFC 2617 §3.2.1 skipped: no challenge, the user is guessed from the source address.
      btid = unchallenged;
      outcome = 'unauthenticated (fault)';
    } else {
      const verdict = this.#verifyDigest(req, target, body);
      if (verdict.status !== 200 || !verdict.credentials) {
        const a = textAnswer(verdict.status, verdict.outcome, verdict.reason);
        if (verdict.wwwAuthenticate) a.headers.push(['WWW-Authenticate', verdict.wwwAuthenticate]);
        return { answer: a };
      }
      credentials = verdict.credentials;
      btid = credentials.username;
      outcome = verdict.outcome;
    }
    const rec = users.get(btid)!;
    // Wrong media type or malformed XML: 4xx and never a key (protocol §7.1 A-B13).
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== http.requestContentType.toLowerCase()) {
      return { answer: { ...textAnswer(415, 'media-type', `Content-Type must be ${http.requestContentType}`), btid } };
    }
    let requested;
    try {
      requested = parseMskRequestBody(body, profile);
    } catch (error) {
      if (!(error instanceof MbmsBodyError)) throw error;
      return { answer: { ...textAnswer(400, 'body', error.message), btid } };
    }
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; MIKEY goes to the plain IPv4 address.
    if (!rec.user.ueAddress) rec.lastAddress = remote.address.replace(/^::ffff:(?=\d+\.)/, '');
    const { entries, granted } = this.#authorise(rec.user, requested);
    const responseBody = Buffer.from(buildMskResponseBody(entries, profile), 'utf8');
    const answer: HttpAnswer = { status: 200, outcome, btid, body: responseBody, headers: [['Content-Type', http.responseContentType]] };
    if (credentials) {
      const info = hooks.value('authenticationInfo',
        this.#digestServer().authenticationInfo(credentials, { responseBody, nextnonce: http.nextnonce }), {});
      if (info !== null) answer.headers.push(['Authentication-Info', info]);
    }
    const mikeyTo = this.#ctx.mikeyTarget(btid);
    if (granted.length === 0 || !mikeyTo) return { answer };
    const send = async () => {
      for (const msk of granted) {
        await this.#deliveries.startMsk(btid, msk, mikeyTo, this.#ctx.config.mskAck).catch((error) => {
          this.#ctx.emit('warning', { time: now(), message: `MSK delivery to ${btid}: ${(error as Error).message}` });
        });
      }
    };
    return { answer, send };
  }

  /**
   * Per-MSK authorisation (protocol §2.4, O4): the response is 200 even if some MSKs are refused. MSK ID
   * 0x00000000 asks for the current MSK of every key group of the domain the user is subscribed to (profile
   * keyIds.currentMsk 'all-zero', protocol §2.3); Key Number 0 for the current MSK of that group.
   */
  #authorise(user: BmscUser, requested: { keyDomainId: Buffer; mskId: number }[]): { entries: MskResponseEntry[]; granted: Msk[] } {
    const { profile, hooks } = this.#ctx;
    const state = this.#ctx.state();
    const codes = profile.statusCodes;
    const granted: Msk[] = [];
    const expanded = requested.flatMap((entry) => entry.mskId !== 0 ? [entry]
      : user.subscriptions.filter((s) => s.keyDomainId.equals(entry.keyDomainId))
        .flatMap((s) => s.keyGroups.map((g) => ({ keyDomainId: entry.keyDomainId, mskId: (g * 0x10000) >>> 0 }))));
    const entries = (expanded.length ? expanded : requested).map((entry): MskResponseEntry => {
      const group = Math.floor(entry.mskId / 0x10000);
      if (!hooks.value('authorised', isSubscribed(user, entry.keyDomainId, group), {})) {
        return { mskId: entry.mskId, status: codes.notAuthorised ?? 403 };
      }
      const msk = entry.mskId % 0x10000 === 0 ? state.current(entry.keyDomainId, group) : state.find(entry.keyDomainId, entry.mskId);
      if (!msk) return { mskId: entry.mskId, status: codes.unknownMsk ?? 404 };
      if (!granted.includes(msk)) granted.push(msk);
      return { mskId: msk.id, status: codes.success };
    });
    return { entries, granted };
  }

  /** The user whose MIKEY address is `address` (or the only user): how bmsc-no-challenge picks a victim. */
  #userByAddress(address: string): string | undefined {
    const { users } = this.#ctx;
    const normalized = address.replace(/^::ffff:/, '');
    for (const [btid, rec] of users) {
      if ((rec.user.ueAddress ?? rec.lastAddress) === normalized) return btid;
    }
    return users.size === 1 ? [...users.keys()][0] : undefined;
  }

  #verifyDigest(req: IncomingMessage, target: string, body: Buffer): DigestVerifyResult {
    const digest = this.#digestServer();
    const request = { method: req.method ?? 'POST', uri: target, authorization: req.headers.authorization, body };
    return this.#ctx.hooks.value('digestResult', digest.verify(request), { digest, request, knownUser: (btid) => this.#ctx.users.has(btid) });
  }
}

function textAnswer(status: number, outcome: string, text: string): HttpAnswer {
  return { status, outcome, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from(`${text}\n`, 'utf8') };
}

function headerPairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
