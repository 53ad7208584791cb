// One simulated UE under load and the 6.3.1 procedure it runs (TS 33.246 §6.3.1): POST an MSK request,
// answer the 401 Digest challenge (RFC 2617 §3.2.1; or reuse the nonce, RFC 2617 §3.3), get the 200 OK with
// its Authentication-Info, receive the MIKEY MSK message on its own UDP socket, acknowledge it when V=1.
//
// Every message is judged with the verifiers of the conformance runs and of analyze (lib/suite/verify):
// the MIKEY message as a UE checks it (structure, MAC under the MUK, decryption), the COUNTER strictly
// above the last one for the MUK (RFC 3830 §5.3), rspauth (RFC 2617 §3.2.3). A failure is counted under
// its check, with the first few kept as evidence; load never hides a conformance failure in a latency.
import { createSocket, type Socket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { DigestClient } from '../digest/index.ts';
import { buildMskRequestBody, digestPassword, mskRequestTarget, parseMskResponseBody, type MbmsProfile } from '../mbms/index.ts';
import { classifyDatagram, type CheckOutcome } from '../suite/verify/mikey.ts';
import type { LoadUeIdentity } from './population.ts';
import { UeKeyState } from './ue-keys.ts';

export interface Target { http: { address: string; port: number }; host: string; keyDomainId: Buffer; keyGroup: number }

/** What one procedure measured: phase end times (ms from its intended start) or the reason it failed. */
export interface ProcedureOutcome {
  /** Phase latencies, ms: challenge (401), ok (200 OK), delivery (MIKEY after the 200 OK), total. */
  phases: { challenge?: number; ok?: number; delivery?: number; total?: number };
  error?: string;
  failures: CheckOutcome[];
}

interface AwaitedMikey { resolve: (m: { bytes: Buffer; from: { address: string; port: number }; at: number }) => void }

/**
 * The HTTP half of a 6.3.1 procedure for one UE (TS 33.246 §6.3.1 steps 1-4): the MSK request POSTed from
 * the UE's address, the 401 Digest challenge answered (or the nonce reused), the 200 OK with its
 * Authentication-Info judged (rspauth, RFC 2617 §3.2.3) and its MSK response body read. Used by the request
 * scenarios' UEs (LoadUe) and by the UEs a solicited pull makes request (push-slice.ts).
 */
export class MskRequestClient {
  readonly #agent: Agent;
  readonly #digest: DigestClient;

  constructor(identity: LoadUeIdentity, readonly profile: MbmsProfile) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: identity.address } as ConstructorParameters<typeof Agent>[0]);
    this.#digest = new DigestClient({ username: identity.btid, password: digestPassword(identity.ksNaf), preferQop: profile.http.qop });
  }

  destroy(): void {
    this.#agent.destroy();
  }

  #post(target: Target, body: Buffer, authorization: string | undefined, timeoutMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: target.http.address, port: target.http.port, method: 'POST', path: mskRequestTarget(this.profile), agent: this.#agent,
        headers: {
          'Host': target.host, 'User-Agent': `mbms-conform-load; ${this.profile.http.userAgentToken}`,
          'Content-Type': this.profile.http.requestContentType, 'Content-Length': String(body.length),
          ...(authorization ? { Authorization: authorization } : {}),
        },
        timeout: timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('http-timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * The request to the 200 OK, its phases (ms from `start`) and failures recorded in `out`: true when the
   * BM-SC granted an MSK, else `out.error` says why. Network errors are thrown (httpErrorReason names them).
   */
  async request(target: Target, start: number, options: { reuseNonce: boolean; timeoutMs: number }, out: ProcedureOutcome): Promise<boolean> {
    const body = Buffer.from(buildMskRequestBody([{ keyDomainId: target.keyDomainId, mskId: (target.keyGroup * 0x10000) >>> 0 }], this.profile));
    const uri = mskRequestTarget(this.profile);
    let authorization = options.reuseNonce && this.#digest.currentNonce ? this.#digest.authorize(undefined, { method: 'POST', uri, body }) : undefined;
    let res = await this.#post(target, body, authorization, options.timeoutMs);
    if (res.status === 401) {
      out.phases.challenge = performance.now() - start;
      const challenge = res.headers['www-authenticate'];
      if (challenge === undefined) {
        out.failures.push({ check: 'digest.challenge', ok: false, message: 'a 401 carries a Digest challenge (RFC 2617 §3.2.1)', expected: 'WWW-Authenticate', actual: 'none' });
        out.error = 'no-challenge';
        return false;
      }
      authorization = this.#digest.authorize(challenge, { method: 'POST', uri, body });
      res = await this.#post(target, body, authorization, options.timeoutMs);
    }
    if (res.status !== 200) {
      out.error = `http-${res.status}`;
      return false;
    }
    out.phases.ok = performance.now() - start;
    const info = this.#digest.verifyAuthenticationInfo(res.headers['authentication-info'] as string | undefined, { responseBody: res.body });
    if (this.profile.http.rspauthMandatory && !info.valid) out.failures.push({ check: 'digest.rspauth', ok: false, message: 'the 200 OK carries a valid rspauth (RFC 2617 §3.2.3)', expected: 'valid rspauth', actual: info.reason ?? 'invalid' });
    const granted = parseMskResponseBody(res.body, this.profile).filter((e) => e.status === this.profile.statusCodes.success);
    if (granted.length === 0) {
      out.error = 'no-msk-granted';
      return false;
    }
    return true;
  }
}

/** The error reason of a request that threw: connection-reset, http-timeout or the system error's code. */
export function httpErrorReason(e: unknown): string {
  const message = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return message === 'ECONNRESET' || message === 'socket hang up' ? 'connection-reset' : message === 'http-timeout' ? 'http-timeout' : String(message);
}

export class LoadUe {
  readonly socket: Socket;
  readonly #http: MskRequestClient;
  #awaiting?: AwaitedMikey;
  /** A procedure is under way: MIKEY messages belong to it (those before its 200 OK wait in #early). */
  #requesting = false;
  #early: { bytes: Buffer; from: { address: string; port: number }; at: number }[] = [];
  /** Its replay state, the delivery it acknowledged last and the judging of its MSK messages. */
  readonly #keys: UeKeyState;
  /** Acknowledged deliveries the BM-SC kept sending past the crossing copy (summed over the run: lost ACKs). */
  lateCopies = 0;
  /** Copies of acknowledged deliveries received (retransmissions, the one crossing the ACK included). */
  copiesReceived = 0;
  /** MIKEY messages after a procedure this UE abandoned (a time-out), before its next one. */
  abandonedDeliveries = 0;
  /**
   * Findings on the copies judged outside a procedure, with when they came (wall clock, epoch ms): their
   * failures, and the ACKs the BM-SC did not take (`lostAck`), summed into the run's by runLoad.
   */
  readonly copyFindings: { finding: CheckOutcome; at: number; lostAck: boolean }[] = [];
  #abandoned = false;
  busy = false;

  /** When this UE last sent an ACK (performance.now()). */
  get lastAckAt(): number | undefined {
    return this.#keys.acks.acked?.at;
  }

  private constructor(readonly identity: LoadUeIdentity, readonly profile: MbmsProfile, socket: Socket) {
    this.socket = socket;
    this.#keys = new UeKeyState(identity.ksNaf, profile);
    this.#http = new MskRequestClient(identity, profile);
    socket.on('message', (bytes, rinfo) => this.#onMikey(bytes, { address: rinfo.address, port: rinfo.port }));
  }

  /** Opens the UE's MIKEY socket on its address and `port` (default the profile's UE MIKEY port, O1). */
  static async open(identity: LoadUeIdentity, profile: MbmsProfile, port = profile.ports.ueMikey): Promise<LoadUe> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, identity.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new LoadUe(identity, profile, socket);
  }

  close(): void {
    this.#http.destroy();
    this.socket.close();
  }

  #onMikey(bytes: Buffer, from: { address: string; port: number }): void {
    const at = performance.now();
    // A copy of the acknowledged delivery means the BM-SC did not take the ACK (RFC 3830 §5.2; A-B5, G-B1):
    // an MSK message of the acknowledged MSK while no request of this UE waits for one, or one with the
    // delivery's CSB ID (profile O10: CSB IDs per delivery) whenever it comes; not the delivery a new request waits for
    // After a procedure this UE gave up on (a time-out), the BM-SC may still deliver its key: that is the
    // abandoned request's delivery (and its retransmissions, no ACK coming), not a copy an ACK did not stop
    if (this.#abandoned && !this.#requesting) {
      this.abandonedDeliveries++;
      return;
    }
    const acked = this.#keys.acks.acked;
    if (acked) {
      const c = classifyDatagram(bytes);
      const sameMsk = c.kind === 'msk' && c.keyIds?.mskId?.toString('hex') === acked.mskId;
      const sameCsb = c.message?.hdr.csbId === acked.csbId;
      // CSB IDs per delivery (O10): the CSB ID says it exactly; drawn per message: the MSK, outside a request
      const copy = this.profile.mikey.csbId.msk === 'random-per-message' ? sameMsk && (!this.#requesting || sameCsb) : sameMsk && sameCsb;
      if (copy) {
        this.copiesReceived++;
        const lost = this.#keys.acks.lostAck(at);
        if (lost) {
          this.lateCopies++;
          this.copyFindings.push({ finding: lost, at: performance.timeOrigin + at, lostAck: true });
        }
        // The copy is judged like any message, and a valid V=1 message is acknowledged (RFC 3830 §5.2): a
        // BM-SC that lost the first ACK takes this one
        const judged = this.#keys.judge(bytes);
        for (const f of judged.failures) this.copyFindings.push({ finding: f, at: performance.timeOrigin + at, lostAck: false });
        if (judged.ack) this.socket.send(judged.ack, from.port, from.address);
        return;
      }
    }
    if (!this.#requesting) return;
    // The MSK message may overtake the 200 OK (UDP and TCP race): kept until the procedure asks for it
    const w = this.#awaiting;
    if (!w) {
      if (this.#early.length < 8) this.#early.push({ bytes, from, at });
      return;
    }
    this.#awaiting = undefined;
    w.resolve({ bytes, from, at });
  }

  #nextMikey(timeoutMs: number): Promise<{ bytes: Buffer; from: { address: string; port: number }; at: number } | undefined> {
    const early = this.#early.shift();
    if (early) return Promise.resolve(early);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#awaiting = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.#awaiting = { resolve: (m) => { clearTimeout(timer); resolve(m); } };
    });
  }

  /**
   * One MSK request procedure, its latencies measured from `start` (the time it was due: a late start is
   * the load's latency too). `reuseNonce`: credentials on the first POST with the nonce of an earlier
   * challenge (or the nextnonce), a 401 only when the BM-SC wants a fresh one.
   */
  async mskRequest(target: Target, start: number, options: { reuseNonce: boolean; timeoutMs: number }): Promise<ProcedureOutcome> {
    const out: ProcedureOutcome = { phases: {}, failures: [] };
    const timers = this.profile.timers;
    this.#requesting = true;
    this.#early = [];
    try {
      if (!(await this.#http.request(target, start, options, out))) return out;
      // The MIKEY MSK message within T_deliver of the 200 OK (6.3.1 step 5)
      const okAt = performance.now();
      const m = await this.#nextMikey(timers.deliverMs);
      if (!m) {
        out.error = 'mikey-timeout';
        return out;
      }
      out.phases.delivery = m.at - okAt;
      const judged = this.#keys.judge(m.bytes);
      out.failures.push(...judged.failures);
      if (judged.ack) {
        this.#keys.acks.acknowledged(judged, performance.now());
        await new Promise<void>((resolve, reject) => this.socket.send(judged.ack!, m.from.port, m.from.address, (e) => (e ? reject(e) : resolve())));
      }
      out.phases.total = performance.now() - start;
      return out;
    } catch (e) {
      out.error = httpErrorReason(e);
      return out;
    } finally {
      this.#requesting = false;
      this.#awaiting = undefined;
      this.#abandoned = out.error !== undefined;
    }
  }
}
