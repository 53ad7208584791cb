// The conformance checks: the ids suite cases cite in `checks:` (A-B4, M-U1, ...), one entry each, per
// SUT role, with what the check requires in plain words, the sections that decide it, and the rules
// (rules.ts, the finding names) that judge it. The loader refuses an id that is not listed (a typo would
// silently drop coverage); `coverage()` tells which checks a set of cases covers; docs/checks.md is
// generated from this table (fixtures/tools/gen-docs.ts) and a test keeps it current.
//
// Letters: A = UE-initiated MSK request (6.3.1), P = BM-SC push of MSKs (6.3.2.1), S = push-solicited pull
// (6.3.2.1), M = MTK update (6.3.3), G = generic MIKEY handling; then B (BM-SC under test) or U (UE under test).

import type { CaseDef } from './loader.ts';
import type { Role } from './verdict.ts';

export interface CheckInfo {
  id: string;
  role: Role;
  /** TS 33.246 clause or procedure. */
  clause: string;
  title: string;
  requirement: string;
  refs: string;
  /** The rules (finding names, rules.ts) that judge the check. */
  rules: readonly string[];
}

const c = (id: string, clause: string, title: string, requirement: string, refs: string, rules: string[]): CheckInfo =>
  ({ id, role: id.split('-')[1]!.startsWith('B') ? 'bmsc' : 'ue', clause, title, requirement, refs, rules });

/** Every check, BM-SC under test first. */
export const CHECK_CATALOGUE: readonly CheckInfo[] = [
  // ---- BM-SC under test -------------------------------------------------------------------------------
  c('A-B1', '6.3.1', 'Unauthenticated request is challenged', 'A POST without credentials is answered 401 with a Digest challenge: realm 3GPP-bootstrapping@<BM-SC host>, a nonce never used before, the qop and algorithm of the profile (MD5 when absent).', 'TS 33.246 §6.3.1; TS 24.109 §5.2; RFC 2617 §3.2.1', ['http.status', 'digest.challenge', 'digest.fresh-nonce', 'digest.realm', 'digest.qop', 'digest.algorithm', 'digest.nonce']),
  c('A-B2', '6.3.1', 'Correct credentials are answered 200 with rspauth', 'Credentials computed with the B-TID and base64(Ks_NAF) (auth-int over the body) get 200 OK with Authentication-Info: an rspauth the tester recomputes over the response body, qop, cnonce and nc echoed.', 'TS 33.246 §6.3.1; RFC 2617 §3.2.3', ['http.status', 'http.response', 'digest.rspauth', 'digest.auth-info', 'digest.nextnonce', 'order.200', 'order.challenge']),
  c('A-B3', '6.3.1', 'MSK response body', 'The 200 OK body is well-formed XML of the profile media type with one status entry per requested MSK.', 'TS 33.246 §6.3.1; profile O3', ['msk-response.content-type', 'msk-response.xml', 'msk-response.shape', 'msk-response.entries']),
  c('A-B4', '6.3.1', 'Granted MSKs are delivered in valid MIKEY messages', 'After the 200 OK every granted MSK arrives in exactly one MIKEY message on the UE MIKEY port within T_deliver: well-formed, data type 0, PRF MIKEY-1, AES-CM-128 encryption, HMAC-SHA-1-160 MAC that verifies under the MUK-derived key, key data that decrypts, key IDs of the granted MSK, a counter above every earlier one under the MUK. The 200 OK itself carries no key.', 'TS 33.246 §6.3.1, §6.3.2; RFC 3830 §5.2, §6; RFC 4563 §4', ['mikey.delivery', 'mikey.per-granted', 'mikey.decode', 'mikey.data-type', 'mikey.prf', 'mikey.num-cs', 'mikey.cs-id-map', 'mikey.timestamp', 'mikey.ext', 'mikey.kemac', 'mikey.encr-alg', 'mikey.mac-alg', 'mikey.mac', 'mikey.key-data', 'mikey.key-ids', 'mikey.counter', 'mikey.v-flag', 'mikey.v-payload', 'mikey.sp', 'mikey.rand', 'mikey.checks', 'order.mikey-after-200', 'delivery.msk-message', 'delivery.timing', 'msk-response.no-key', 'order']),
  c('A-B5', '6.3.2.1', 'Retransmission stops at the ACK', 'Once the UE\'s correct verification message arrives, the BM-SC sends no further copy of the acknowledged message (one copy already due when the ACK arrived may cross it).', 'RFC 3830 §5.2; profile O18', ['silence', 'retransmission.after-ack']),
  c('A-B6', '6.3.1', 'Wrong password is refused', 'Credentials computed with a wrong Ks_NAF get 401 with a new challenge and no MIKEY message.', 'RFC 2617 §3.2.2; TS 33.246 §6.3.1', ['http.status', 'digest.challenge', 'silence']),
  c('A-B7', '6.3.1', 'Unknown B-TID is refused', 'A B-TID the BM-SC cannot resolve gets a 401 challenge with the GBA realm (bootstrapping required) and no MIKEY message.', 'TS 33.220 §4.5.3; TS 24.109 §5.2', ['http.status', 'digest.challenge', 'digest.realm', 'silence']),
  c('A-B8', '6.3.1', 'Expired nonce is answered stale', 'Correct credentials on an expired nonce get 401 with stale=TRUE and a new nonce.', 'RFC 2617 §3.2.1', ['http.status', 'digest.stale', 'digest.challenge']),
  c('A-B9', '6.3.1', 'Replayed credentials are refused', 'The same Authorization (same nonce, same nc) sent again is refused: the BM-SC tracks nc per nonce.', 'RFC 2617 §3.2.2', ['http.status', 'silence']),
  c('A-B10', '6.3.1', 'uri directive must match the Request-URI', 'Credentials whose uri differs from the Request-URI are refused (400).', 'RFC 2617 §3.2.2.5', ['http.status', 'silence']),
  c('A-B11', '6.3.1', 'Body tampered after auth-int is refused', 'A body changed after the auth-int digest was computed is refused with 401.', 'RFC 2617 §3.2.2.1', ['http.status', 'silence']),
  c('A-B12', '6.3.1', 'Unsubscribed MSKs are not granted', 'An MSK of a service the user is not subscribed to gets an error status (or 403 as the profile says) and is never delivered.', 'TS 33.246 §6.3.1; profile O4', ['msk-response.statuses', 'http.status', 'silence', 'mikey.key-ids']),
  c('A-B13', '6.3.1', 'Malformed requests are refused', 'A body that is not well-formed XML, or of the wrong media type, gets a 4xx and no MIKEY message.', 'TS 33.246 §6.3.1; profile O3', ['http.status', 'silence']),
  c('P-B1', '6.3.2.1', 'Pushed MSK update', 'An MSK pushed by the BM-SC meets every A-B4 message check; a new MSK keeps the Key Group and has a higher Key Number.', 'TS 33.246 §6.3.2.1; TS 31.102 (EF MSK)', ['mikey.delivery', 'mikey.key-ids', 'mikey.mac', 'mikey.counter', 'mikey.checks', 'mikey.rand-per-msk']),
  c('P-B2', '6.3.2.1', 'Retransmission of an unacknowledged push', 'Without an ACK a V=1 message is retransmitted the profile\'s number of times at its interval, each copy valid; fresh counters or byte-identical copies as the profile says.', 'RFC 3830 §5.2; profile O18', ['mikey.delivery', 'mikey.retransmission', 'mikey.retransmission-interval', 'mikey.csb-id', 'mikey.counter', 'retransmission.count']),
  c('S-B1', 'push-solicited pull', 'Solicited-pull trigger', 'The trigger parses, is authenticated under the MUK, carries key IDs 0x0 and no usable key; after the UE\'s MSK request the BM-SC delivers the current MSK.', 'TS 33.246 §6.3.2.1; profile O20', ['mikey.delivery', 'mikey.key-ids', 'mikey.mac', 'trigger.key-ids', 'mikey.checks']),
  c('M-B1', '6.3.3', 'MTK messages', 'MTK messages have V=0, are protected with keys derived from the MSK, carry the key IDs (domain, MSK, MTK), a counter increasing per MSK, a higher MTK ID for each new MTK, one CSB ID per MSK where the profile fixes it (O10), no SP for download (empty CS ID map), the SRTP-ID map for streaming.', 'TS 33.246 §6.3.3; RFC 3830 §6; RFC 4563 §4, §5', ['mikey.delivery', 'mikey.v-flag', 'mikey.mac', 'mikey.key-data', 'mikey.key-ids', 'mikey.mtk-id', 'mikey.counter', 'mikey.csb-id', 'mikey.cs-id-map', 'mikey.sp', 'mikey.checks']),
  c('M-B2', '6.3.3', 'MSK change before its MTKs', 'A new MSK is delivered before MTK messages under it appear.', 'TS 33.246 §6.3.3', ['order', 'mikey.delivery']),
  c('G-B1', '6.3', 'Bad ACKs are ignored', 'A verification message with a bad MAC, a wrong CSB ID or a wrong counter does not stop the retransmissions; a duplicate valid ACK is harmless.', 'RFC 3830 §5.2, §5.3', ['mikey.delivery', 'silence', 'retransmission.count', 'retransmission.after-ack']),
  c('G-B2', '6.3', 'No NULL protection, RAND long enough', 'The BM-SC never sends MIKEY with NULL encryption or NULL MAC; MSK messages carry a RAND of at least 16 octets.', 'RFC 3830 §6.2, §6.11', ['mikey.encr-alg', 'mikey.mac-alg', 'mikey.rand']),

  // ---- UE under test -----------------------------------------------------------------------------------
  c('A-U1', '6.3.1', 'MSK request and Digest credentials', 'The UE\'s POST has the profile URI, media type, a User-Agent with 3gpp-gba and an XML body; after the 401 it retries with the B-TID, the realm verbatim, the profile qop (auth-int when offered), nc 00000001 on a nonce\'s first use, a cnonce and a correct response.', 'TS 33.246 §6.3.1; TS 24.109 §5.2, Annex B.3; RFC 2617 §3.2.2', ['http.request', 'http.method', 'http.uri', 'http.content-type', 'http.user-agent', 'http.body', 'http.body.key-domain', 'http.checks', 'digest.authorization', 'digest.username', 'digest.realm', 'digest.nonce', 'digest.uri', 'digest.opaque', 'digest.algorithm', 'digest.qop', 'digest.cnonce', 'digest.nc', 'digest.response']),
  c('A-U2', '6.3.1', 'The UE verifies rspauth', 'A 200 OK with a wrong rspauth is not trusted: the UE does not act on its MSK statuses.', 'RFC 2617 §3.2.3', ['silence', 'http.request', 'digest.nonce']),
  c('A-U3', '6.3', 'ACK exactly when asked', 'A valid MSK message with V=1 gets exactly one verification message within T_ack to the sender: data type 1, the same CSB ID, the counter echoed, a correct V MAC; V=0 gets nothing.', 'RFC 3830 §5.2, §6.9; TS 33.246 §6.3.2', ['mikey.delivery', 'ack.decode', 'ack.data-type', 'ack.csb-id', 'ack.timestamp', 'ack.v-payload', 'ack.mac', 'ack.original', 'ack.iff-v', 'ack.once', 'ack.timing', 'ack.unmatched', 'silence']),
  c('A-U4', '6.3.3', 'The accepted MSK is used', 'After accepting an MSK the UE takes MTK messages under it (no missed-key request, no answer).', 'TS 33.246 §6.3.3', ['silence', 'mtk.silence']),
  c('A-U5', '6.3.1', 'stale and re-bootstrapping', '401 with stale=TRUE: the UE retries with the new nonce and the same B-TID; 401 without stale after a correct-looking response: it bootstraps again (new B-TID).', 'RFC 2617 §3.2.1; TS 33.220 §4.5.3', ['http.request', 'digest.username', 'digest.nonce', 'http.answer']),
  c('A-U6', '6.3.1', 'nextnonce is used', 'A nextnonce in Authentication-Info is used on the next request, with nc 00000001.', 'RFC 2617 §3.2.3', ['http.request', 'digest.nonce', 'digest.nc']),
  c('P-U1', '6.3.2.1', 'Pushed MSK accepted', 'An MSK message the UE did not ask for is accepted as a requested one (A-U3, A-U4).', 'TS 33.246 §6.3.2.1', ['mikey.delivery', 'ack.iff-v', 'ack.mac']),
  c('S-U1', 'push-solicited pull', 'A valid trigger starts a pull', 'A valid trigger (key IDs 0x0) is acknowledged if V=1 and followed by an MSK request within T_pull for MSKs of the service\'s Key Domain.', 'TS 33.246 §6.3.2.1', ['mikey.delivery', 'http.request', 'http.body.key-domain', 'pull.request']),
  c('M-U1', '6.3.3', 'No answer to MTK messages', 'A valid MTK message is installed and never answered: no verification message, no error message, even if V=1 is set.', 'TS 33.246 §6.3.3; RFC 3830 §5.2', ['silence', 'mtk.silence', 'mikey.error-message']),
  c('M-U2', '6.3.1', 'Missed key update', 'An MTK message under an MSK the UE does not hold makes it request that MSK.', 'TS 33.246 §6.3.1', ['http.request', 'http.body']),
  c('G-U1', '6.3', 'Bad MAC discarded', 'A message whose MAC (or any octet it covers) is wrong is discarded: no ACK, no use.', 'RFC 3830 §5.3', ['silence', 'ack.bad-mac']),
  c('G-U2', '6.3', 'Replays discarded', 'A message whose counter is not above the last accepted one under its key is discarded (no second ACK unless the profile re-acknowledges duplicates).', 'RFC 3830 §5.3; profile O18', ['silence', 'ack.replay']),
  c('G-U3', '6.3', 'Counter jumps accepted', 'A valid message with a counter far above the last is accepted: there is no upper window.', 'RFC 3830 §5.3', ['mikey.delivery', 'ack.iff-v']),
  c('G-U4', '6.3', 'Another MUK discarded', 'A message protected with another MUK (an old B-TID\'s) is discarded.', 'TS 33.246 §6.3.2; RFC 3830 §5.3', ['silence']),
  c('G-U5', '6.3', 'Unknown Key Domain', 'A message of a Key Domain the UE does not take part in is discarded (or leads to a request, as the profile says).', 'TS 33.246 §6.3.2', ['silence', 'http.request']),
  c('G-U6', '6.3.3', 'Old MTKs discarded', 'An MTK message with an MTK ID not above the current, or a counter not above the stored one for its MSK, is discarded and not answered.', 'TS 33.246 §6.3.3; RFC 3830 §5.3', ['silence', 'mtk.silence']),
  c('G-U7', '6.3.3', 'MTKs of a deleted MSK discarded', 'An MTK message under an MSK the UE deleted or let expire is discarded.', 'TS 33.246 §6.3.3', ['silence']),
  c('G-U8', '6.3', 'Malformed MIKEY survived', 'Wrong version, data type or PRF, unknown payloads, lengths beyond the datagram, trailing octets, NULL algorithms, a V payload in an initiator message: all discarded without harm.', 'RFC 3830 §6', ['silence', 'mikey.delivery']),
  c('G-U9', 'push-solicited pull', 'Invalid triggers start nothing', 'A trigger with a bad MAC or a replayed counter starts no MSK request (no request storms).', 'TS 33.246 §6.3.2.1; RFC 3830 §5.3', ['silence', 'pull.request']),
];

/** The check ids per SUT role, in catalogue order (what suite cases may cite). */
export const CHECKS: Readonly<Record<Role, readonly string[]>> = {
  bmsc: CHECK_CATALOGUE.filter((k) => k.role === 'bmsc').map((k) => k.id),
  ue: CHECK_CATALOGUE.filter((k) => k.role === 'ue').map((k) => k.id),
};

export interface Coverage {
  role: Role;
  /** check id -> case ids citing it, in case order. */
  byCheck: Record<string, string[]>;
  /** Checks of the role no case cites. */
  uncovered: string[];
}

export function coverage(role: Role, cases: readonly CaseDef[]): Coverage {
  const byCheck: Record<string, string[]> = Object.fromEntries(CHECKS[role].map((k) => [k, []]));
  for (const k of cases) for (const id of k.checks) byCheck[id]?.push(k.id);
  return { role, byCheck, uncovered: CHECKS[role].filter((k) => byCheck[k]!.length === 0) };
}
