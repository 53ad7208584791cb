// Steps where the tester plays the UE against a BM-SC under test (suites/bmsc): the MSK request over HTTP
// with Digest (RFC 2617, TS 33.246 6.3.1), judging the BM-SC's answers, and verification messages (ACKs).

import { buildMskRequestBody, digestPassword, mskRequestTarget, type MskRequestEntry } from '../../mbms/index.ts';
import { buildVerificationMessage, decodeMikey, mikeyProfile, type MikeyMessage } from '../../mikey/index.ts';
import { DigestAlgorithmError, DigestClientError, type DigestClientFaults } from '../../digest/index.ts';
import { TesterUe } from '../../peers/index.ts';
import { HarnessError } from '../errors.ts';
import { evidence, missedDeadline, named, note, remember, waitMs, windowMs, type CaseRun, type StepHandler } from '../context.ts';
import { windowClock } from '../loop-monitor.ts';
import { digestChallengeOf, verifyAuthenticationInfo, verifyChallenge, verifyMskResponseBody } from '../verify/http.ts';
import { recordChecks } from './record.ts';
import { acknowledged } from '../settle.ts';
import type { Endpoint, MikeyEvent } from '../trace-types.ts';
import { defineStep } from './step.ts';

function ueOf(run: CaseRun): TesterUe {
  if (!run.ue) throw new HarnessError('this step needs the tester UE (a BM-SC under test)');
  return run.ue;
}

/** The MSKs a step asks for (suite keySelection). */
export function resolveKeys(run: CaseRun, selection: unknown): MskRequestEntry[] {
  const { subscribed, unsubscribed } = run.session.keys;
  if (Array.isArray(selection)) {
    return selection.map((k: { keyDomainId: string; mskId: string }) => ({ keyDomainId: Buffer.from(k.keyDomainId, 'hex'), mskId: parseInt(k.mskId, 16) }));
  }
  switch (selection ?? 'subscribed') {
    case 'subscribed': return subscribed.slice(0, 1);
    case 'unsubscribed': return unsubscribed.slice(0, 1);
    case 'subscribed+unsubscribed': return [...subscribed.slice(0, 1), ...unsubscribed.slice(0, 1)];
    // Key Number 0 asks for the current MSK of the key group (protocol §2.3, O21).
    // O3: as the profile writes it, Key Group and Key Number 0, or MSK ID 0x00000000.
    case 'current': return subscribed.slice(0, 1).map((k) => ({ keyDomainId: k.keyDomainId, mskId: run.profile.keyIds.currentMsk === 'all-zero' ? 0 : k.mskId - (k.mskId % 0x10000) }));
    default: throw new HarnessError(`unknown key selection ${JSON.stringify(selection)}`);
  }
}

function requestBody(run: CaseRun, kind: string, keys: MskRequestEntry[]): Buffer {
  const profile = run.profile;
  if (keys.length === 0 && kind !== 'empty') throw new HarnessError('the SUT session offers no MSK to request (keys.subscribed/unsubscribed)');
  switch (kind) {
    case 'msk-request': return Buffer.from(buildMskRequestBody(keys, profile), 'utf8');
    case 'empty': return Buffer.alloc(0);
    case 'malformed-xml': {
      // Not well-formed: the end tag of the root element is cut short (XML 1.0 §3.1 element).
      const text = buildMskRequestBody(keys, profile);
      const end = `</${profile.xml.requestRoot}>`;
      return Buffer.from(text.replace(end, end.slice(0, -1)), 'utf8');
    }
    case 'wrong-root': return Buffer.from(buildMskRequestBody(keys, { xml: { ...profile.xml, requestRoot: 'notAnMskRequest' } }), 'utf8');
    default: throw new HarnessError(`unknown body '${kind}'`);
  }
}

function flipHexDigit(hex: string): string {
  const last = hex.slice(-1);
  return `${hex.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}

export const httpRequest: StepHandler = async (run, p) => {
  const ue = ueOf(run);
  const profile = run.profile;
  const timeout = windowMs(profile, undefined, 'http');
  if (p.replay) {
    const original = named(run, p.replay);
    if (!original.exchange) throw new HarnessError(`'${p.replay}' is not an HTTP request`);
    note(run, `replaying the octets of request '${p.replay}' (same nonce, same nc; RFC 2617 §3.2.2)`);
    const clock = windowClock(timeout);
    const exchangeMeter = clock.meter;
    const exchange = await ue.exchange(original.exchange.raw, timeout, run.signal, clock.extend);
    const entry = remember(run, p.as, { ...original, events: [exchange.request, exchange.response].filter((e) => e !== undefined), exchange, exchangeMeter });
    run.last.request = entry;
    return;
  }
  const keys = resolveKeys(run, p.keys);
  const body = requestBody(run, p.body ?? 'msk-request', keys);
  const target = mskRequestTarget(profile);
  const identity = run.session.identity;
  let authorization: string | undefined;
  let password = digestPassword(identity.ksNaf);
  if ((p.auth ?? 'none') === 'digest') {
    const challenge = p.challenge ? named(run, p.challenge).challenge : run.last.challenge;
    if (!challenge) {
      run.tracker.inconc('digest.precondition', 'no Digest challenge to answer: the precondition of this step was not met');
      return 'stop';
    }
    const fault: string = p.fault ?? 'none';
    const faults: DigestClientFaults = {};
    let sentBody = body;
    let as: typeof identity | undefined;
    switch (fault) {
      case 'none': break;
      case 'wrong-password': {
        // A bit-flipped Ks_NAF: the digest is well formed but computed with the wrong secret (A-B6).
        const wrong = Buffer.from(identity.ksNaf);
        wrong[0] ^= 0x01;
        faults.password = digestPassword(wrong);
        break;
      }
      case 'unknown-btid': as = run.session.unknownIdentity; password = digestPassword(as.ksNaf); break;
      case 'tampered-body': sentBody = Buffer.concat([body, Buffer.from('<!-- tampered after signing -->\n', 'utf8')]); faults.bodyForDigest = body; break;
      case 'uri-mismatch': faults.uri = `${profile.http.path}?requesttype=not-this-uri`; break;
      case 'wrong-realm': faults.realm = `other-realm@${run.session.nafFqdn}`; break;
      case 'stale-nonce': {
        const wait = windowMs(profile, undefined, 'nonce-ttl') + Math.max(50, Math.round(profile.http.nonceTtlMs * 0.1));
        note(run, `letting the nonce "${challenge.nonce}" expire: waiting ${wait} ms (nonce lifetime ${profile.http.nonceTtlMs} ms)`);
        await waitMs(wait, run.signal);
        break;
      }
      case 'bad-response': break;
      default: throw new HarnessError(`unknown HTTP fault '${fault}'`);
    }
    let auth: ReturnType<TesterUe['authorize']>;
    try {
      auth = ue.authorize(challenge, { method: 'POST', uri: target, body }, faults, as);
    } catch (e) {
      if (!(e instanceof DigestClientError || e instanceof DigestAlgorithmError)) throw e;
      // The BM-SC's challenge cannot be answered (unknown algorithm, no usable qop): its fault, not the harness's.
      run.tracker.fail('digest.challenge', 'the challenge can be answered by a UE (known algorithm, usable qop; RFC 2617 §3.2.1)', 'an answerable Digest challenge', e.message, evidence(...(run.last.request?.events ?? [])));
      return 'stop';
    }
    authorization = fault === 'bad-response' ? TesterUe.withResponse(auth, flipHexDigit(auth.credentials.response)) : auth.header;
    if (fault !== 'none') note(run, `deliberate fault: ${fault}`);
    const raw = ue.buildRequest(target, sentBody, { contentType: p.contentType, authorization, extra: extraHeaders(p.headers) });
    const clock = windowClock(timeout);
    const exchangeMeter = clock.meter;
    const exchange = await ue.exchange(raw, timeout, run.signal, clock.extend);
    run.last.request = remember(run, p.as, { events: [exchange.request, exchange.response].filter((e) => e !== undefined), exchange, exchangeMeter, keys, authorization, password });
    run.last.requestedKeys = keys;
    return;
  }
  const raw = ue.buildRequest(target, body, { contentType: p.contentType, extra: extraHeaders(p.headers) });
  const clock = windowClock(timeout);
  const exchangeMeter = clock.meter;
  const exchange = await ue.exchange(raw, timeout, run.signal, clock.extend);
  run.last.request = remember(run, p.as, { events: [exchange.request, exchange.response].filter((e) => e !== undefined), exchange, exchangeMeter, keys, password });
  run.last.requestedKeys = keys;
};

/** `headers`: extra header fields after the standard ones, in the order written. */
function extraHeaders(headers: Record<string, string> | undefined): [string, string][] {
  return Object.entries(headers ?? {});
}

function statusMatches(status: number, spec: unknown): boolean {
  const one = (s: unknown) => (typeof s === 'number' ? s === status : typeof s === 'string' && Number(s[0]) === Math.floor(status / 100));
  return Array.isArray(spec) ? spec.some(one) : one(spec);
}

export const expectHttpResponse: StepHandler = async (run, p) => {
  const req = p.to ? named(run, p.to) : run.last.request;
  if (!req?.exchange) throw new HarnessError('expect-http-response: no earlier http-request');
  const { request, response, error, timedOut } = req.exchange;
  if (!response) {
    const window = windowMs(run.profile, undefined, 'http');
    const args = ['http.response', 'the BM-SC answers the MSK request', `an HTTP response within ${window} ms`, error ?? 'no response', evidence(request)] as const;
    // Only a response that did not come in time is a deadline; a refused or reset connection is not.
    if (timedOut && req.exchangeMeter) missedDeadline(run, req.exchangeMeter, window, ...args);
    else run.tracker.fail(...args);
    remember(run, p.as, { events: [] });
    return;
  }
  const ev = evidence(request, response);
  if (p.status !== undefined) {
    if (statusMatches(response.status, p.status)) run.tracker.pass('http.status', `status ${response.status}`, ev);
    else run.tracker.fail('http.status', `the BM-SC answers ${JSON.stringify(p.status)}`, p.status, `${response.status} ${response.reason}`, ev);
  }
  const entry = remember(run, p.as, { events: [response], exchange: req.exchange });
  // Any Digest challenge becomes the default for the next digest request, judged or not.
  const parsed = digestChallengeOf(response.headers);
  if (parsed.challenge) {
    entry.challenge = parsed.challenge;
    run.last.challenge = parsed.challenge;
  }
  if (p.challenge) {
    const { checks } = verifyChallenge(response.headers, p.challenge, { profile: run.profile, nafFqdn: run.session.nafFqdn, earlierNonces: run.nonces });
    recordChecks(run, checks, ev);
  }
  if (parsed.challenge && !run.nonces.includes(parsed.challenge.nonce)) run.nonces.push(parsed.challenge.nonce);
  if (p.authenticationInfo) {
    if (!req.authorization) throw new HarnessError('authenticationInfo expected on a request sent without Authorization');
    const { checks } = verifyAuthenticationInfo(response.headers, response.body, p.authenticationInfo, { authorization: req.authorization, password: req.password ?? '' });
    recordChecks(run, checks, ev);
  }
  const keys = req.keys ?? run.last.requestedKeys ?? [];
  const { checks, granted } = verifyMskResponseBody(response.status, response.headers, response.body, p.body ?? {}, {
    profile: run.profile, requested: keys, unsubscribed: run.session.keys.unsubscribed,
  });
  if (p.body) recordChecks(run, checks, ev);
  if (response.status === 200) {
    entry.granted = granted;
    run.last.granted = granted;
    run.granted.push(...granted.map((mskId) => ({ mskId, at: response.time })));
  }
};

export const sendAck: StepHandler = async (run, p) => {
  const ue = ueOf(run);
  const target = named(run, p.to);
  const first = target.messages?.[0];
  // Whatever happens, the step leaves its name behind (later steps may order against it).
  const skip = (text: string) => { remember(run, p.as, { events: [note(run, text)] }); };
  if (!first) return skip(`no message '${p.to}' to acknowledge`);
  const v = first.verdict;
  // A UE acknowledges only messages that verified (protocol §1.1, RFC 3830 §5.3).
  if (!v.macValid || !v.message) return skip(`not acknowledging '${p.to}': it did not verify`);
  if (!v.v) return skip(`'${p.to}' has V=0: no verification message requested`);
  const fault: AckFault = p.fault ?? 'none';
  const bytes = ackFor(run, first.event.bytes, fault);
  const to = ackDestination(run, first.event.src);
  if (fault !== 'none') note(run, `deliberate ACK fault: ${fault}`);
  const sent = [await ue.sendMikey(bytes, to)];
  if (fault === 'duplicate') sent.push(await ue.sendMikey(bytes, to));
  // A valid ACK settles the delivery (settle.ts): its retransmissions must stop.
  if (fault === 'none' || fault === 'duplicate') acknowledged(run, first.event.bytes, sent[0]!.time);
  remember(run, p.as, { events: sent, sent: sent.map((event) => ({ event, bytes })) });
};

/** Sends a valid ACK for a message of the SUT (settling, settle.ts), recorded in the trace. */
export async function ack(run: CaseRun, received: MikeyEvent): Promise<MikeyEvent> {
  const sent = await ueOf(run).sendMikey(ackFor(run, received.bytes), ackDestination(run, received.src));
  acknowledged(run, received.bytes, sent.time);
  return sent;
}

type AckFault = 'none' | 'wrong-csb' | 'wrong-counter' | 'bad-mac' | 'duplicate';

/** The verification message (RFC 3830 §5.3) a UE sends for `received`, with a deliberate fault if asked. */
export function ackFor(run: CaseRun, received: Buffer, fault: AckFault = 'none'): Buffer {
  const profile = mikeyProfile(run.profile.mikey as Parameters<typeof mikeyProfile>[0]);
  const mutate = (m: MikeyMessage) => {
    if (fault === 'wrong-csb') m.hdr.csbId = (m.hdr.csbId + 1) >>> 0;
    if (fault === 'wrong-counter') {
      const t = m.payloads.find((x) => x.type === 'T');
      if (t?.type === 'T') t.tsValue += 1n;
    }
  };
  let bytes = buildVerificationMessage({ received, psk: run.session.identity.ksNaf, profile, mutate }).bytes;
  if (fault === 'bad-mac') {
    // One bit of the V MAC flipped (RFC 3830 §6.9): a forged ACK.
    bytes = Buffer.from(bytes);
    bytes[bytes.length - 1] ^= 0x01;
  }
  decodeMikey(bytes); // the tester's own ACK must at least be well formed
  return bytes;
}

/** Where the UE sends its ACK (O17): back to the message's source, or the profile's configured address. */
export function ackDestination(run: CaseRun, source: Endpoint): Endpoint {
  const ack = run.profile.ack;
  return ack.destination === 'configured' && ack.address && ack.port ? { address: ack.address, port: ack.port } : source;
}

/** An expected HTTP status: a code or a class such as '4xx'. */
const ONE_STATUS = [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string', pattern: '^[1-5]xx$' }];

// ---- the module's steps (registry: steps/index.ts) ----------------------------------------------------------

export const httpRequestStep = defineStep({
  action: 'http-request', roles: ['bmsc'], handler: httpRequest,
  doc: "POST an MSK request to the BM-SC",
  schema: {
    type: "object",
    additionalProperties: false,
    description: "tester UE sends an MSK request (HTTP POST) to the BM-SC under test",
    properties: {
      as: {
        "$ref": "#/definitions/name"
      },
      auth: {
        enum: [
          "none",
          "digest"
        ],
        default: "none",
        description: "digest: answer the challenge of `challenge` (default: the latest 401)"
      },
      challenge: {
        "$ref": "#/definitions/ref"
      },
      fault: {
        enum: [
          "none",
          "wrong-password",
          "unknown-btid",
          "tampered-body",
          "uri-mismatch",
          "stale-nonce",
          "wrong-realm",
          "bad-response"
        ],
        default: "none",
        description: "deliberate deviation: wrong-password (bit-flipped Ks_NAF); unknown-btid (username no BSF issued); tampered-body (body changed after the auth-int digest); uri-mismatch (uri directive differs from Request-URI); stale-nonce (wait nonce-ttl, then answer the old nonce correctly); wrong-realm; bad-response (one hex digit of response flipped)"
      },
      replay: {
        "$ref": "#/definitions/ref",
        description: "re-send the request named here byte for byte (same nonce, same nc): RFC 2617 §3.2.2 replay"
      },
      keys: {
        "$ref": "#/definitions/keySelection"
      },
      body: {
        description: "the request body: a well-formed MSK request, or malformed XML, an empty body, a wrong root element (A-B13)",
        enum: [
          "msk-request",
          "malformed-xml",
          "empty",
          "wrong-root"
        ],
        default: "msk-request"
      },
      headers: {
        type: "object",
        description: "extra header fields sent after the standard ones (e.g. an extension field the BM-SC must ignore, RFC 9110 §5.1)",
        propertyNames: {
          pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
        },
        additionalProperties: {
          type: "string",
          pattern: "^[^\\r\\n]*$"
        }
      },
      contentType: {
        type: "string",
        description: "overrides the profile's request Content-Type (e.g. text/plain for A-B13)"
      }
    }
  },
});

export const expectHttpResponseStep = defineStep({
  action: 'expect-http-response', roles: ['bmsc'], handler: expectHttpResponse,
  doc: "judge the answer to a request",
  schema: {
    type: "object",
    additionalProperties: false,
    description: "judge the BM-SC's answer to a tester request",
    properties: {
      as: {
        "$ref": "#/definitions/name"
      },
      to: {
        "$ref": "#/definitions/ref",
        description: "the request (default: the latest)"
      },
      status: {
        description: "expected status: a number, a class ('4xx'), or a list of those",
        oneOf: [...ONE_STATUS, { type: "array", minItems: 1, items: { oneOf: ONE_STATUS } }]
      },
      challenge: {
        type: "object",
        additionalProperties: false,
        description: "a WWW-Authenticate: Digest challenge must be present and meet these (RFC 2617 §3.2.1, reference A-B1)",
        properties: {
          realm: {
            enum: [
              "gba",
              "any"
            ],
            description: "gba: '<accepted prefix>@<BM-SC FQDN>'"
          },
          qop: {
            enum: [
              "profile",
              "any"
            ],
            description: "profile: qop options include the profile's qop"
          },
          algorithm: {
            enum: [
              "profile",
              "any"
            ],
            description: "profile: absent (= MD5) or equal to the profile's algorithm"
          },
          stale: {
            type: "boolean",
            description: "true: stale=TRUE required; false: stale absent or FALSE"
          },
          freshNonce: {
            type: "boolean",
            description: "the nonce differs from every nonce of earlier challenges in the case"
          }
        }
      },
      authenticationInfo: {
        type: "object",
        additionalProperties: false,
        description: "Authentication-Info on the 200 OK (RFC 2617 §3.2.3, reference A-B2)",
        properties: {
          rspauth: {
            enum: [
              "valid",
              "present",
              "absent"
            ],
            description: "valid: recomputed from the response body (auth-int) and equal"
          },
          echo: {
            type: "boolean",
            description: "qop, cnonce and nc echo the request's values"
          },
          nextnonce: {
            enum: [
              "present",
              "absent",
              "any"
            ]
          }
        }
      },
      body: {
        type: "object",
        additionalProperties: false,
        description: "the MSK response body (protocol §2.4, A-B3, A-B12)",
        properties: {
          mskResponse: {
            type: "boolean",
            description: "well-formed XML of the profile's media type and root"
          },
          entries: {
            enum: [
              "per-requested-key",
              "any"
            ]
          },
          statuses: {
            enum: [
              "success",
              "error-for-unsubscribed",
              "any"
            ]
          }
        }
      }
    }
  },
});

export const sendAckStep = defineStep({
  action: 'send-ack', roles: ['bmsc'], handler: sendAck,
  doc: "send a MIKEY verification message (data type 1, RFC 3830 §5.2) for a received MSK message",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "to"
    ],
    description: "tester UE sends a MIKEY verification message (RFC 3830 §5.2, data type 1) for a received MSK message",
    properties: {
      to: {
        "$ref": "#/definitions/ref"
      },
      fault: {
        enum: [
          "none",
          "bad-mac",
          "wrong-csb",
          "wrong-counter",
          "duplicate"
        ],
        default: "none",
        description: "bad-mac: one bit of the V MAC flipped; wrong-csb: CSB ID + 1; wrong-counter: echoed TS + 1; duplicate: the valid ACK twice"
      },
      as: {
        "$ref": "#/definitions/name"
      }
    }
  },
});
