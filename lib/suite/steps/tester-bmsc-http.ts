// UE under test, HTTP side of the MSK request (TS 33.246 6.3.1; protocol §1.1, §2, §3, §7.2 A-U1, A-U2,
// A-U5, A-U6): `expect-http-request` waits for the UE's POST at the tester BM-SC and judges its octets —
// request line, media type, User-Agent token, MSK request body and the Digest credentials, recomputed with
// lib/digest primitives from the UE's password base64(Ks_NAF) — and `respond-http` answers it (401 challenge
// with stale/qop/algorithm options, 200 OK with a valid, wrong or absent rspauth and an optional nextnonce).

import {
  computeResponse, digestEquals, normalizeAlgorithm, parseCredentials, type DigestChallenge, type DigestCredentials,
} from '../../digest/index.ts';
import { mskRequestTarget, parseMskRequestBody, type MskRequestEntry } from '../../mbms/index.ts';
import { HarnessError } from '../errors.ts';
import { evidence, missedDeadline, named, note, remember, windowMs, type CaseRun, type Named, type StepHandler } from '../context.ts';
import { ioTurn, windowClock } from '../loop-monitor.ts';
import type { HttpRequestEvent } from '../trace-types.ts';
import type { CheckOutcome } from '../verify/mikey.ts';
import type { Evidence } from '../verdict.ts';
import { judgeCredentials, judgeRequestBody, judgeRequestHeaders } from '../verify/http-request.ts';
import { testerBmsc, ueState } from './tester-bmsc-state.ts';
import { defineStep } from './step.ts';

const header = (headers: readonly [string, string][], name: string): string | undefined =>
  headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];


/** Passing checks of one request in one PASS finding, each failure a FAIL finding of its own (expected vs actual). */
function recordRequestChecks(run: CaseRun, what: string, checks: readonly CheckOutcome[], ev: Evidence): void {
  const passed = checks.filter((c) => c.ok);
  if (passed.length > 0) run.tracker.pass('http.checks', `${what}: ${passed.map((c) => c.check).join(', ')} ok`, ev, passed.map((c) => c.message));
  for (const c of checks) if (!c.ok) run.tracker.fail(c.check, `${what}: ${c.message}`, c.expected, c.actual, ev);
}

interface RequestExpectation {
  auth?: 'none' | 'digest' | 'any';
  nonce?: 'challenge' | 'nextnonce';
  nc?: number;
  btid?: 'same' | 'new';
  headers?: boolean;
  body?: 'msk-request' | 'any';
}

/**
 * Digest credentials of a request (verify/http-request.ts judgeCredentials): against the tester's
 * challenge of that nonce, the nc this UE owes, and the response recomputed from base64(Ks_NAF).
 */
function digestChecks(run: CaseRun, req: HttpRequestEvent, exp: RequestExpectation): { checks: CheckOutcome[]; credentials?: DigestCredentials } {
  const bmsc = testerBmsc(run);
  const state = ueState(run);
  const checks: CheckOutcome[] = [];
  const value = header(req.headers, 'authorization');
  if (value === undefined) {
    checks.push({ check: 'digest.authorization', ok: false, message: 'the request answers the challenge with Authorization: Digest (RFC 2617 §3.2.2)', expected: 'Authorization: Digest ...', actual: 'absent' });
    return { checks };
  }
  let c: DigestCredentials;
  try {
    c = parseCredentials(value);
  } catch (e) {
    checks.push({ check: 'digest.authorization', ok: false, message: 'Authorization is Digest credentials (RFC 7616 §3.4)', expected: 'Digest username=..., realm=..., nonce=..., uri=..., response=...', actual: `${(e as Error).message}: ${value}` });
    return { checks };
  }
  const btid = exp.btid ?? 'same';
  // Which nonce: the latest challenge, the latest nextnonce, or any nonce the tester issued.
  const issued = bmsc.nonceRecord(c.nonce);
  if (exp.nonce) {
    const want = exp.nonce === 'challenge' ? bmsc.latestChallenge : [...bmsc.nonces].reverse().find((n) => n.via === 'nextnonce');
    if (!want) throw new HarnessError(`expect-http-request nonce: ${exp.nonce}, but the tester issued no ${exp.nonce === 'challenge' ? 'challenge' : 'nextnonce'} before`);
    checks.push(c.nonce === want.nonce
      ? { check: 'digest.nonce', ok: true, message: `nonce of the ${exp.nonce === 'challenge' ? 'latest challenge' : 'nextnonce'}` }
      : {
        check: 'digest.nonce', ok: false,
        message: exp.nonce === 'challenge'
          ? 'the request uses the nonce of the latest 401 challenge (RFC 2617 §3.2.2), not an unauthenticated nextnonce (A-U2)'
          : 'the request uses the nextnonce of the last authenticated 200 OK (RFC 2617 §3.2.3, A-U6)',
        expected: want.nonce, actual: issued ? `${c.nonce} (issued as ${issued.via})` : `${c.nonce} (never issued by the tester)`,
      });
  }
  // A nonce this tester did not issue in this case: a UE that keeps nonces across sessions answers
  // preemptively with one from an earlier exchange; judged against what this BM-SC would have challenged.
  const foreign = !issued && !exp.nonce;
  if (foreign) note(run, `the credentials use nonce ${c.nonce}, which this BM-SC did not issue in this case (preemptive, from an earlier session)`);
  const challenge: DigestChallenge = issued?.challenge ?? (foreign ? profileChallenge(run, c.nonce) : bmsc.latestChallenge?.challenge ?? profileChallenge(run, c.nonce));
  checks.push(...judgeCredentials(req, c, {
    profile: run.profile, challenge, foreign, earlierUses: state.nonceUses.get(c.nonce) ?? 0,
    ...(exp.nc !== undefined ? { nc: exp.nc } : {}),
    username: { btid: run.session.identity.btid, mode: btid },
    ...(btid === 'same' ? { password: bmsc.password } : {}),
  }));
  state.nonceUses.set(c.nonce, (state.nonceUses.get(c.nonce) ?? 0) + 1);
  return { checks, credentials: c };
}

/** What this BM-SC challenges with (realm, profile qop and algorithm), for credentials on a nonce of another session. */
function profileChallenge(run: CaseRun, nonce: string): DigestChallenge {
  const bmsc = testerBmsc(run);
  return { realm: bmsc.realm, nonce, qop: [run.profile.http.qop], algorithm: run.profile.http.algorithm, extra: {} };
}

/**
 * Whether a request carries a correct digest (recomputed with base64(Ks_NAF)) on a nonce this BM-SC did not
 * issue in this case: then the nonce alone is not valid here, and the 401 says stale=TRUE (RFC 2617 §3.2.1) so
 * that the UE retries with the new nonce rather than taking its credentials for wrong.
 */
function correctDigestOnForeignNonce(run: CaseRun, req: HttpRequestEvent): boolean {
  const bmsc = testerBmsc(run);
  const value = header(req.headers, 'authorization');
  if (value === undefined) return false;
  try {
    const c = parseCredentials(value);
    if (bmsc.nonceRecord(c.nonce) || c.username !== run.session.identity.btid) return false;
    const expected = computeResponse({
      algorithm: c.algorithm, username: c.username, realm: c.realm, password: bmsc.password, nonce: c.nonce, cnonce: c.cnonce,
      nc: c.nc, qop: c.qop, method: req.method, uri: c.uri, body: req.body,
    });
    return digestEquals(expected.response, c.response);
  } catch {
    return false;
  }
}

export const expectHttpRequest: StepHandler = async (run, p) => {
  const bmsc = testerBmsc(run);
  const exp = p as RequestExpectation;
  const window = windowMs(run.profile, p.within, 'http');
  const start = note(run, `waiting up to ${window} ms for an MSK request of the UE`);
  // As expect-mikey: the UE gets the whole window in time the tester was running (loop-monitor.ts).
  const clock = windowClock(window);
  const meter = clock.meter;
  let pending = await bmsc.nextRequest(window, run.signal);
  while (!pending && !run.signal.aborted) {
    await ioTurn(); // read what is pending
    pending = await bmsc.nextRequest(0, run.signal);
    const back = pending ? 0 : clock.extend();
    if (back === 0) break;
    note(run, `the tester was not running for part of the window (a loaded host): ${Math.round(back)} ms of the window given back`);
    pending = await bmsc.nextRequest(back, run.signal);
  }
  if (!pending) {
    const end = note(run, 'no MSK request arrived');
    missedDeadline(run, meter, window, 'http.request', `the UE sends an MSK request within ${window} ms`, 'an HTTP request of the UE', 'none', evidence(start, end));
    return 'stop';
  }
  const req = pending.event;
  const checks: CheckOutcome[] = [];
  if (exp.headers) checks.push(...judgeRequestHeaders(run.profile, req));
  let keys: MskRequestEntry[] = [];
  const knownDomains = [...bmsc.composer.knownKeyDomains()];
  if (exp.body === 'msk-request') {
    const b = judgeRequestBody(run.profile, req, knownDomains);
    checks.push(...b.checks);
    keys = b.keys;
  } else {
    try { keys = parseMskRequestBody(req.body, run.profile); } catch { keys = []; }
  }
  const auth = exp.auth ?? 'any';
  const authorization = header(req.headers, 'authorization');
  if (auth === 'none') {
    checks.push(authorization === undefined
      ? { check: 'digest.authorization', ok: true, message: 'no Authorization (the UE holds no nonce yet)' }
      : { check: 'digest.authorization', ok: false, message: 'a UE that holds no nonce sends no Authorization (RFC 2617 §3.2.1)', expected: 'no Authorization', actual: authorization });
  } else if (auth === 'digest' || authorization !== undefined) {
    checks.push(...digestChecks(run, req, exp).checks);
  } else {
    note(run, 'the request carries no Authorization (allowed here)');
  }
  if (checks.length === 0) checks.push({ check: 'http.request', ok: true, message: `MSK request ${req.method} ${req.target}` });
  recordRequestChecks(run, `HTTP request frames ${req.frames.join(',')}`, checks, evidence(req));
  const entry: Named = remember(run, p.as, { events: [req], pending, keys, ...(authorization !== undefined ? { authorization } : {}) });
  run.last.request = entry;
  if (keys.length > 0) run.last.requestedKeys = keys;
};

function requestOf(run: CaseRun, ref: string | undefined): Named {
  const entry = ref ? named(run, ref) : run.last.request;
  if (!entry?.pending) throw new HarnessError(`respond-http: ${ref ? `'${ref}' is not a request of the UE` : 'no request of the UE to answer'}`);
  return entry;
}

export const respondHttp: StepHandler = async (run, p) => {
  const bmsc = testerBmsc(run);
  const request = requestOf(run, p.to);
  const pending = request.pending!;
  if (pending.answered) throw new HarnessError(`respond-http: the request${p.to ? ` '${p.to}'` : ''} was answered already`);
  const status: number = p.status;
  if (status === 401) {
    // Unless the step says otherwise, a correct digest on a nonce of another session gets stale=TRUE.
    const stale: boolean | undefined = p.challenge?.stale ?? (correctDigestOnForeignNonce(run, pending.event) ? true : undefined);
    if (p.challenge?.stale === undefined && stale) note(run, 'correct digest on a nonce of an earlier session: the 401 carries stale=TRUE (RFC 2617 §3.2.1)');
    const { event, challenge } = bmsc.answerChallenge(pending, {
      ...(stale !== undefined ? { stale } : {}),
      ...(p.challenge?.qop !== undefined ? { qop: p.challenge.qop } : {}),
      ...(p.challenge?.algorithm !== undefined ? { algorithm: p.challenge.algorithm } : {}),
    });
    run.last.challenge = challenge;
    run.nonces.push(challenge.nonce);
    if (!event) {
      run.tracker.inconc('http.answer', 'the UE closed the connection before the 401 could be sent', evidence(pending.event));
      return 'stop';
    }
    remember(run, p.as, { events: [event], pending, challenge });
    return;
  }
  if (status === 200) {
    const answer = bmsc.answerOk(pending, { rspauth: p.rspauth ?? 'valid', nextnonce: p.nextnonce ?? false, statuses: p.statuses ?? 'success' });
    if (answer.rspauthProblem && (p.rspauth ?? 'valid') !== 'absent') note(run, `200 OK without rspauth: ${answer.rspauthProblem}`);
    if (!answer.event) {
      run.tracker.inconc('http.answer', 'the UE closed the connection before the 200 OK could be sent', evidence(pending.event));
      return 'stop';
    }
    const granted = answer.entries.filter((e) => e.status === run.profile.statusCodes.success).map((e) => e.mskId);
    run.last.granted = granted;
    if (answer.nextnonce) run.nonces.push(answer.nextnonce);
    remember(run, p.as, { events: [answer.event], pending, granted, keys: answer.requested });
    return;
  }
  const event = bmsc.respond(pending, { status });
  if (!event) {
    run.tracker.inconc('http.answer', `the UE closed the connection before the ${status} could be sent`, evidence(pending.event));
    return 'stop';
  }
  remember(run, p.as, { events: [event], pending });
};

// ---- the module's steps (registry: steps/index.ts) ----------------------------------------------------------

export const expectHttpRequestStep = defineStep({
  action: 'expect-http-request', roles: ['ue'], handler: expectHttpRequest,
  doc: "wait for the UE's MSK request and judge it",
  schema: {
    type: "object",
    additionalProperties: false,
    description: "UE under test: wait for the UE's MSK request at the tester BM-SC and judge it (reference A-U1)",
    properties: {
      as: {
        "$ref": "#/definitions/name"
      },
      within: {
        "$ref": "#/definitions/window"
      },
      auth: {
        enum: [
          "none",
          "digest",
          "any"
        ],
        description: "digest: Authorization verified against the tester's challenge with lib/digest primitives"
      },
      nonce: {
        enum: [
          "challenge",
          "nextnonce"
        ],
        description: "which nonce the Authorization must use: that of the latest challenge or the latest nextnonce"
      },
      nc: {
        type: "integer",
        minimum: 1,
        description: "expected nc value"
      },
      btid: {
        enum: [
          "same",
          "new"
        ],
        description: "username equals the provisioned B-TID, or differs from it (re-bootstrap)"
      },
      headers: {
        type: "boolean",
        description: "URI, Content-Type and User-Agent token per profile"
      },
      body: {
        enum: [
          "msk-request",
          "any"
        ]
      }
    }
  },
});

export const respondHttpStep = defineStep({
  action: 'respond-http', roles: ['ue'], handler: respondHttp,
  doc: "answer the request `to`",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "status"
    ],
    description: "UE under test: the tester BM-SC answers the request named in `to`",
    properties: {
      to: {
        "$ref": "#/definitions/ref"
      },
      as: {
        "$ref": "#/definitions/name"
      },
      status: {
        type: "integer",
        minimum: 100,
        maximum: 599
      },
      challenge: {
        type: "object",
        additionalProperties: false,
        properties: {
          stale: {
            type: "boolean"
          },
          qop: {
            type: "string"
          },
          algorithm: {
            type: "string"
          }
        }
      },
      rspauth: {
        enum: [
          "valid",
          "wrong",
          "absent"
        ]
      },
      nextnonce: {
        type: "boolean"
      },
      statuses: {
        enum: [
          "success",
          "error"
        ]
      }
    }
  },
});
