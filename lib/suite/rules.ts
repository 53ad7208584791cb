// The rule catalogue: every name a finding can carry (`Finding.check`), the side whose behaviour it
// judges, the clause and RFC sections that decide it, and the requirement in plain words. It drives the
// blame of every finding (live runs and `analyze` alike), the rule table of docs/rules.md (generated,
// fixtures/tools/gen-docs.ts) and a test that no code emits a name missing here (rules.test.ts).
//
// Sides: 'bmsc' and 'ue' name the device whose behaviour the rule judges. 'sut' rules judge whichever
// side is under test (a silence window, an ordering): the live runs blame the SUT, and `analyze` names
// the side where it applies them. 'tester' rules are about the run itself (capture, harness,
// preconditions) and blame no device.

import type { Role } from './verdict.ts';

export type RuleSide = Role | 'sut' | 'tester';

export interface RuleInfo {
  side: RuleSide;
  /** TS 33.246 clause (or the procedure) the rule belongs to. */
  clause: string;
  /** Sections that decide it: RFC 3830 (MIKEY), RFC 4563 (MIKEY general extension), RFC 2617/7616 (Digest), 3GPP specs, profile options (docs/profile.md). */
  refs: string;
  requirement: string;
}

const r = (side: RuleSide, clause: string, refs: string, requirement: string): RuleInfo => ({ side, clause, refs, requirement });

/** Rule name -> rule. Names with a dynamic tail (`order.A-B4`) are found by their prefix (ruleOf). */
export const RULES: Readonly<Record<string, RuleInfo>> = {
  // ---- the BM-SC's HTTP side (6.3.1 steps 1-4) -----------------------------------------------------
  'digest.challenge': r('bmsc', '6.3.1', 'RFC 2617 §3.2.1; TS 24.109 §5.2', 'An MSK request without credentials is answered 401 with a Digest challenge a UE can answer: the GBA realm, a fresh nonce, a known algorithm, usable qop options.'),
  'digest.fresh-nonce': r('bmsc', '6.3.1', 'RFC 2617 §3.2.1', 'Every challenge carries a nonce not used before.'),
  'digest.stale': r('bmsc', '6.3.1', 'RFC 2617 §3.2.1', 'Credentials that are correct but carry an expired nonce are answered 401 with stale=TRUE; wrong credentials never get stale=TRUE.'),
  'digest.rspauth': r('bmsc', '6.3.1', 'RFC 2617 §3.2.3', 'The 200 OK carries Authentication-Info with rspauth computed over the response (auth-int: over the response body).'),
  'digest.auth-info': r('bmsc', '6.3.1', 'RFC 2617 §3.2.3', 'Authentication-Info echoes qop, nc and cnonce of the request.'),
  'digest.nextnonce': r('bmsc', '6.3.1', 'RFC 2617 §3.2.3', 'A nextnonce, when sent, is one the BM-SC accepts on the next request.'),
  'http.status': r('bmsc', '6.3.1', 'RFC 9110 §15; TS 33.246 §6.3.1', 'The BM-SC answers the MSK request with the status the case expects (401, 200, 400, 403...).'),
  'http.response': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1', 'The BM-SC answers every MSK request within the HTTP timer.'),
  'msk-response.content-type': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1; profile O3', 'The MSK response has the profile\'s media type.'),
  'msk-response.xml': r('bmsc', '6.3.1', 'XML 1.0 §2.1', 'The MSK response body is well-formed XML.'),
  'msk-response.shape': r('bmsc', '6.3.1', 'profile O3', 'The MSK response body has the profile\'s shape: one status entry per MSK.'),
  'msk-response.entries': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 (A-B3)', 'The MSK response lists one status per requested MSK.'),
  'msk-response.statuses': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 (A-B12); profile O4', 'A subscribed MSK is granted; an MSK of a service the user is not subscribed to is refused.'),
  'msk-response.no-key': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1, §6.3.2', 'The 200 OK carries no key material: MSKs travel only inside MIKEY messages, encrypted under the MUK.'),
  'order.challenge': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1; RFC 2617 §3.2.1', 'A 200 OK only answers a POST with valid Digest credentials (401 challenge, then authorised POST).'),
  'order.200': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1', 'An authorised POST is answered 200 OK.'),
  'order.mikey-after-200': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 step 5', 'The MIKEY MSK message follows the 200 OK of a successful request, never precedes it.'),

  // ---- the BM-SC's MIKEY messages (6.3.1 step 5, 6.3.2.1, 6.3.3) ------------------------------------
  'mikey.decode': r('sut', '6.3', 'RFC 3830 §6', 'Every MIKEY datagram is one well-formed MIKEY message.'),
  'mikey.data-type': r('bmsc', '6.3', 'RFC 3830 §6.1', 'Key messages are MIKEY pre-shared-key messages (data type 0).'),
  'mikey.v-flag': r('bmsc', '6.3', 'RFC 3830 §6.1; TS 33.246 §6.3.2.1, §6.3.3', 'V is set as the procedure requires: as the BM-SC chooses on MSK messages and triggers (set when it wants an ACK), never on MTK messages.'),
  'mikey.num-cs': r('bmsc', '6.3', 'RFC 3830 §6.1; RFC 4563 §5', 'The common header\'s #CS and CS ID map type fit the message kind.'),
  'mikey.cs-id-map': r('bmsc', '6.3', 'RFC 3830 §6.1.1; RFC 4563 §5', 'The CS ID map info is the one of MBMS (empty or the SRTP-ID map of streaming MTK messages).'),
  'mikey.prf': r('bmsc', '6.3', 'RFC 3830 §6.1', 'The PRF function is MIKEY-1.'),
  'mikey.timestamp': r('bmsc', '6.3', 'RFC 3830 §6.6; TS 33.246 §6.3.2', 'The T payload carries the counter in the profile\'s TS type.'),
  'mikey.rand': r('bmsc', '6.3', 'RFC 3830 §6.11', 'MSK messages carry a RAND of at least 16 octets.'),
  'mikey.ext': r('bmsc', '6.3', 'RFC 4563 §4', 'The general extension carries the MBMS key IDs (Key Domain ID, MSK ID, MTK ID) in the right lengths.'),
  'mikey.key-ids': r('bmsc', '6.3', 'RFC 4563 §4; TS 33.246 §6.3.2, §6.3.3', 'The key IDs name the MSK the procedure is about: a granted MSK, one of a subscribed service, the MSK protecting an MTK, 0x0 in a solicited-pull trigger.'),
  'mikey.sp': r('bmsc', '6.3', 'RFC 3830 §6.10; RFC 4563 §5', 'Streaming messages carry the security policy the profile names.'),
  'mikey.kemac': r('bmsc', '6.3', 'RFC 3830 §6.2', 'The KEMAC payload is well formed (lengths, one key data sub-payload per key).'),
  'mikey.encr-alg': r('bmsc', '6.3', 'RFC 3830 §6.2; TS 33.246 §6.3.2', 'Key data is encrypted (AES-CM-128); NULL encryption is never used for MSKs or MTKs.'),
  'mikey.mac-alg': r('bmsc', '6.3', 'RFC 3830 §6.2', 'The MAC algorithm is HMAC-SHA-1-160.'),
  'mikey.mac': r('bmsc', '6.3', 'RFC 3830 §5.2, §6.2; TS 33.246 §6.3.2', 'The MAC verifies under the key derived from the MUK (MSK messages, triggers) or the MSK (MTK messages).'),
  'mikey.key-data': r('bmsc', '6.3', 'RFC 3830 §6.13, §4.2.3', 'The key data decrypts to a key of the right type and length.'),
  'mikey.v-payload': r('bmsc', '6.3', 'RFC 3830 §6.9', 'Key messages carry no verification payload.'),
  'mikey.counter': r('bmsc', '6.3', 'RFC 3830 §5.3, §6.6; TS 33.246 §6.3.2', 'The counter of every message under one key (the MUK, or for MTK messages the MSK) is strictly greater than every earlier one, and at least 1.'),
  'mikey.csb-id': r('bmsc', '6.3.2.1', 'RFC 3830 §6.1; profile O10', 'A retransmission keeps the CSB ID of its delivery when the profile draws CSB IDs per delivery or fixes them per MUK; MTK messages under one MSK keep one CSB ID when the profile fixes it per MSK.'),
  'mikey.retransmission': r('bmsc', '6.3.2.1', 'profile O18', 'A retransmission repeats the message byte for byte when the profile says retransmissions are not refreshed.'),
  'mikey.retransmission-interval': r('bmsc', '6.3.2.1', 'profile O18', 'Copies of an unacknowledged message are spaced by the profile interval (never a burst).'),
  'mikey.rand-per-msk': r('bmsc', '6.3.3', 'TS 33.246 §6.3.3; profile O15', 'Every delivery of one MSK carries the same RAND: MTK-message keys derive from the MSK and that RAND.'),
  'mikey.mtk-id': r('bmsc', '6.3.3', 'TS 33.246 §6.3.3; RFC 4563 §4; profile O21', 'A new MTK under one MSK has a higher MTK ID than the last; a repeated MTK message keeps its ID, and an ID never goes down.'),
  'mikey.per-granted': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 (A-B4)', 'One MSK message per MSK granted in the 200 OK.'),
  'mikey.delivery': r('sut', '6.3', 'TS 33.246 §6.3.1, §6.3.2.1, §6.3.3', 'The expected MIKEY messages arrive within their window (deliveries, retransmissions, ACKs).'),
  'delivery.msk-message': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 step 5', 'Every granted MSK is delivered in a MIKEY message within T_deliver of the 200 OK.'),
  'delivery.timing': r('bmsc', '6.3.1', 'TS 33.246 §6.3.1 step 5', 'The MSK message follows the 200 OK within T_deliver.'),
  'retransmission.count': r('bmsc', '6.3.2.1', 'profile O18', 'An unacknowledged message with V=1 is retransmitted the profile\'s number of times.'),
  'retransmission.after-ack': r('bmsc', '6.3.2.1', 'RFC 3830 §5.2; profile O18', 'No copy once a valid verification message arrived (one copy already due when the ACK arrived is tolerated).'),
  'trigger.key-ids': r('bmsc', 'push-solicited pull', 'TS 33.246 §6.3.2.1; profile O20', 'A solicited-pull trigger carries key IDs 0x0.'),

  // ---- the UE's HTTP side (6.3.1 steps 1-4) --------------------------------------------------------
  'http.request': r('ue', '6.3.1', 'TS 33.246 §6.3.1, §6.3.2.1', 'The UE sends an MSK request when the procedure calls for one (a missed key, a solicited pull, a new service), within the window.'),
  'http.method': r('ue', '6.3.1', 'TS 33.246 §6.3.1', 'The MSK request is an HTTP POST.'),
  'http.uri': r('ue', '6.3.1', 'profile O2', 'The Request-URI is the profile\'s MSK request URI.'),
  'http.content-type': r('ue', '6.3.1', 'profile O3', 'The request body has the profile\'s media type.'),
  'http.user-agent': r('ue', '6.3.1', 'TS 24.109 Annex B.3', 'The User-Agent carries the 3gpp-gba product token.'),
  'http.body': r('ue', '6.3.1', 'profile O3', 'The body is an MSK request of the profile shape, naming at least one MSK.'),
  'http.body.key-domain': r('ue', '6.3.1', 'TS 33.246 §6.3.1', 'The requested MSKs belong to a Key Domain of the UE\'s services.'),
  'http.checks': r('ue', '6.3.1', 'TS 33.246 §6.3.1', 'The passing request checks of one request, reported together.'),
  'http.answer': r('ue', '6.3.1', 'RFC 2617 §3.2.1', 'The UE answers a challenge with a new request carrying credentials.'),
  'digest.authorization': r('ue', '6.3.1', 'RFC 2617 §3.2.2; RFC 7616 §3.4', 'The UE answers the challenge with Authorization: Digest credentials.'),
  'digest.username': r('ue', '6.3.1', 'TS 33.220 §4.5.2; TS 24.109 §5.2', 'The username is the B-TID of the bootstrapped session (a new one after re-bootstrapping).'),
  'digest.realm': r('sut', '6.3.1', 'RFC 2617 §3.2.2; TS 24.109 §5.2', 'The realm is the GBA realm: the BM-SC challenges with 3GPP-bootstrapping@<its host>, and the UE copies the challenged realm verbatim.'),
  'digest.nonce': r('sut', '6.3.1', 'RFC 2617 §3.2.2, §3.2.3', 'The challenge carries a nonce, and the UE\'s credentials answer the nonce of the latest challenge (or the nextnonce of the last 200 OK).'),
  'digest.uri': r('ue', '6.3.1', 'RFC 2617 §3.2.2.5', 'The uri directive equals the Request-URI, query included.'),
  'digest.opaque': r('ue', '6.3.1', 'RFC 2617 §3.2.2', 'opaque is returned unchanged.'),
  'digest.algorithm': r('sut', '6.3.1', 'RFC 2617 §3.2.2', 'The challenge names the profile\'s algorithm (absent means MD5), and the UE answers with the algorithm of the challenge.'),
  'digest.qop': r('sut', '6.3.1', 'RFC 2617 §3.2.2; profile O5', 'The challenge offers the profile\'s qop, and the UE uses one of the offered options, the profile\'s own when it is offered.'),
  'digest.cnonce': r('ue', '6.3.1', 'RFC 2617 §3.2.2', 'A cnonce is sent with qop.'),
  'digest.nc': r('ue', '6.3.1', 'RFC 2617 §3.2.2', 'nc counts the requests the UE sent with this nonce: 00000001 on its first use, one more on every reuse.'),
  'digest.response': r('ue', '6.3.1', 'RFC 2617 §3.2.2.1; TS 33.246 §6.3.1', 'The response digest verifies with the password base64(Ks_NAF), over the body when qop=auth-int.'),

  // ---- the UE's MIKEY side ---------------------------------------------------------------------------
  'ack.decode': r('ue', '6.3', 'RFC 3830 §6', 'The verification message decodes.'),
  'ack.data-type': r('ue', '6.3', 'RFC 3830 §6.1', 'The verification message is data type 1 (pre-shared-key verification).'),
  'ack.csb-id': r('ue', '6.3', 'RFC 3830 §6.1', 'The verification message carries the CSB ID of the message it answers.'),
  'ack.timestamp': r('ue', '6.3', 'RFC 3830 §5.2, §6.6', 'The verification message carries the counter of the message it answers.'),
  'ack.v-payload': r('ue', '6.3', 'RFC 3830 §6.9', 'The verification message ends with a V payload.'),
  'ack.mac': r('ue', '6.3', 'RFC 3830 §5.2, §6.9; TS 33.246 §6.3.2', 'The V payload\'s MAC verifies under the MUK-derived key over the profile\'s input.'),
  'ack.original': r('ue', '6.3', 'RFC 3830 §5.2', 'The message the verification message answers is a V=1 message of the BM-SC.'),
  'ack.iff-v': r('ue', '6.3', 'RFC 3830 §5.2; TS 33.246 §6.3.2', 'The UE acknowledges a message with V=1 that is valid for it, and nothing else (no ACK to V=0, to a bad MAC, to a replay, to a message it must discard).'),
  'ack.once': r('ue', '6.3', 'RFC 3830 §5.2', 'One verification message per MIKEY message.'),
  'ack.bad-mac': r('ue', '6.3', 'RFC 3830 §5.3; TS 33.246 §6.3.2', 'No verification message to a message whose MAC does not verify.'),
  'ack.replay': r('ue', '6.3', 'RFC 3830 §5.3; TS 33.246 §6.3.2', 'No verification message to a replayed message (counter not above the last one for the key).'),
  'ack.timing': r('ue', '6.3', 'TS 33.246 §6.3.2', 'The verification message follows within T_ack.'),
  'ack.unmatched': r('ue', '6.3', 'RFC 3830 §5.2', 'A verification message answers a MIKEY message of the capture (CSB ID and counter).'),
  'mikey.error-message': r('ue', '6.3', 'RFC 3830 §5.1.2; profile O19', 'The UE sends a MIKEY error message only where the profile allows it (a rejected MSK message), never to an MTK message.'),
  'mtk.silence': r('ue', '6.3.3', 'TS 33.246 §6.3.3', 'The UE sends nothing back to an MTK message: no verification, no error message.'),
  'pull.request': r('ue', 'push-solicited pull', 'TS 33.246 §6.3.2.1', 'After a trigger that is valid for it, the UE sends an MSK request within T_pull.'),

  // ---- either side, by context ------------------------------------------------------------------------
  silence: r('sut', '6.3', 'TS 33.246 §6.3; profile O18, O19', 'Nothing of the kind the case names arrives within the window (no retransmission after the ACK, no answer to a message the UE must discard).'),
  order: r('sut', '6.3', 'TS 33.246 §6.3.1, §6.3.3', 'The named exchanges happen in the order the procedure prescribes (assert-order; its check id follows the dot).'),
  'mikey.checks': r('sut', '6.3', 'RFC 3830 §6', 'The passing message checks of one MIKEY message, reported together.'),

  // ---- the run itself ---------------------------------------------------------------------------------
  'mikey.precondition': r('tester', '6.3', '-', 'What an expectation needs from earlier steps (a granted MSK, a verified MSK, a message to compare with) is there.'),
  'digest.precondition': r('tester', '6.3.1', '-', 'What a Digest step needs from earlier steps (a challenge to answer) is there.'),
  'http.outcome': r('tester', '6.3.1', '-', 'The capture holds the request\'s outcome (analyze: a request left unanswered, or refused, has no delivery to judge).'),
  trigger: r('tester', '6.3', 'docs/control-api.md', 'The SUT could be made to start the procedure (control API, shell command, operator).'),
  'sut.open': r('tester', '-', '-', 'The SUT could be prepared for the case (provisioning).'),
  applicability: r('tester', '-', '-', 'The case applies to the SUT\'s capability statement.'),
  capture: r('tester', '-', '-', 'The case\'s capture started and holds the evidence.'),
  'capture.read': r('tester', '-', '-', 'The wire capture could be read back.'),
  'capture.stop': r('tester', '-', '-', 'The capture stopped cleanly.'),
  'capture.missing': r('tester', '-', '-', 'Every message the tester saw is in the wire capture.'),
  'capture.extra': r('tester', '-', '-', 'Every message of the SUT on the wire was judged.'),
  'case.aborted': r('tester', '-', '-', 'The case ran to its end.'),
  'case.timeout': r('tester', '-', '-', 'The case ended within its time limit.'),
  harness: r('tester', '-', '-', 'The tester itself worked.'),
  role: r('tester', '-', '-', 'The case is for the role of the SUT.'),
};

/** The rule of a finding name (`order.A-B4` -> `order`); undefined for a name the catalogue lacks. */
export function ruleOf(check: string): RuleInfo | undefined {
  if (RULES[check]) return RULES[check];
  const dot = check.lastIndexOf('.');
  return dot > 0 && check.startsWith('order.') ? RULES.order : undefined;
}

/**
 * The device a finding judges. In a live run (`sutRole` given) every device rule judges the SUT: the
 * tester never judges itself. Offline, the rule's side; for 'sut' rules `analyze` names the side it
 * applied the rule to (Finding.blame). Tester rules, and names the catalogue lacks, blame no device.
 */
export function blameOf(check: string, sutRole?: Role): Role | undefined {
  const rule = ruleOf(check);
  if (!rule || rule.side === 'tester') return undefined;
  if (sutRole) return sutRole;
  return rule.side === 'sut' ? undefined : rule.side;
}
