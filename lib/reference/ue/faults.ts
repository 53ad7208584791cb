// Faults of the reference UE: each one deviation from TS 33.246 clause 6.3 / RFC 2617 / RFC 3830 that a
// UE-under-test case must catch (DESIGN.md "Every check can fail"). Reference section numbers (§n.n)
// point into the project's protocol notes (docs/protocol.md); check IDs (A-U1, G-U2, ...) into
// its §7.2. Every fault is a single deviation and shows on the wire (HTTP or UDP), which the unit tests of
// this folder demonstrate one by one.
import type { FaultDefinition } from '../common/index.ts';

export const UE_FAULTS: readonly FaultDefinition[] = Object.freeze([
  // --- HTTP Digest on the MSK request (6.3.1, protocol §2, §3) ---
  {
    name: 'ue-ignore-rspauth', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'accepts a 200 OK whose Authentication-Info rspauth is wrong or missing, and trusts its nextnonce',
    violates: 'RFC 2617 §3.2.3 (rspauth authenticates the server and, with auth-int, the response body; check A-U2)',
  },
  {
    name: 'ue-rebootstrap-on-stale', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'treats 401 with stale=true as a credential failure: gives up (asks for re-bootstrapping) instead of retrying with the new nonce',
    violates: 'RFC 2617 §3.2.1 (stale=TRUE: retry with the new nonce, same credentials), protocol §3.2 (check A-U5)',
  },
  {
    name: 'ue-wrong-nc', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'sends nc=00000000 on every request instead of counting 00000001, 00000002, ... per nonce',
    violates: 'RFC 2617 §3.2.2 (nonce-count starts at 00000001 and increases per request with the nonce; check A-U1)',
  },
  {
    name: 'ue-wrong-realm', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'answers the challenge with realm "3GPP-bootstrapping-digest@<host>" instead of copying the challenged realm',
    violates: 'RFC 2617 §3.2.2 (realm copied from the challenge), TS 24.109 §5.2 / protocol §3.3 (check A-U1)',
  },
  {
    name: 'ue-ignore-nextnonce', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'keeps using the old nonce (with the next nc) after Authentication-Info carried a nextnonce',
    violates: 'RFC 2617 §3.2.3 (client SHOULD use nextnonce for the next request), protocol §9 O5 (check A-U6)',
  },
  {
    name: 'ue-wrong-digest-uri', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'puts the path without the query into the Digest uri directive while requesting path?query',
    violates: 'RFC 2617 §3.2.2.5 (digest-uri must equal the Request-URI; check A-U1)',
  },
  {
    name: 'ue-qop-auth', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'answers with qop=auth although qop=auth-int is offered and required by the profile',
    violates: 'protocol §9 O5 (auth-int protects the MSK request/response bodies), RFC 2617 §3.2.2.4 (check A-U1)',
  },
  {
    name: 'ue-no-user-agent-token', role: 'ue', procedure: 'msk-request', alsoIn: ['solicited-pull'],
    description: 'sends a User-Agent without the "3gpp-gba" product token',
    violates: 'TS 24.109 Annex B.3 (User-Agent carries 3gpp-gba), protocol §2.2 (check A-U1)',
  },
  // --- MIKEY MSK messages (6.3.1 step 5, 6.3.2.1, protocol §1.1, §1.2, §6) ---
  {
    name: 'ue-no-ack', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request', 'solicited-pull'],
    description: 'never sends the verification message, also for verified MSK messages with V=1',
    violates: 'RFC 3830 §5.3 / §6.1 (V bit: the responder answers with a verification message), protocol §1.1 (check A-U3)',
  },
  {
    name: 'ue-ack-on-v0', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'sends a verification message for MSK messages with V=0',
    violates: 'RFC 3830 §6.1 (V=0: no verification message expected), protocol §1.1 (check A-U3)',
  },
  {
    name: 'ue-ack-bad-mac', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'skips the KEMAC MAC check: installs and ACKs messages whose MAC is wrong',
    violates: 'RFC 3830 §5.3 (authentication failure: discard, no verification message), protocol §6.3 (check G-U1)',
  },
  {
    name: 'ue-accept-replay', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'skips the COUNTER replay check: accepts (and ACKs) a message whose TS is not above the stored counter',
    violates: 'RFC 3830 §5.4 (replay protection), protocol §6.1 (per-MUK and per-MSK counters; checks G-U2, G-U6)',
  },
  {
    name: 'ue-counter-before-mac', role: 'ue', procedure: 'msk-push', alsoIn: ['mtk-update'],
    description: 'stores the received COUNTER before checking the MAC, so a forged message with a high TS blocks later genuine ones',
    violates: 'RFC 3830 §5.4 (only authenticated messages enter the replay cache), protocol §6.1 (check G-U1 then A-U3)',
  },
  {
    name: 'ue-ack-wrong-csb', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'sends the verification message with CSB ID + 1 instead of the CSB ID of the MSK message',
    violates: 'RFC 3830 §6.1 (the responder uses the initiator\'s CSB ID), protocol §1.2 (check A-U3)',
  },
  {
    name: 'ue-ack-wrong-counter', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'sends the verification message with TS = received COUNTER + 1 instead of echoing it',
    violates: 'RFC 3830 §5.2 (the response reuses the initiator\'s timestamp), protocol §5.7 (check A-U3)',
  },
  {
    name: 'ue-bad-vmac', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'sends the verification message with a wrong verification MAC (last octet changed)',
    violates: 'RFC 3830 §5.2, §6.9 (V payload MAC with the derived auth key), protocol §5.7 (check A-U3)',
  },
  {
    name: 'ue-accept-null-encryption', role: 'ue', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'accepts KEMAC with encryption algorithm NULL (key data in clear) and installs/ACKs it',
    violates: 'RFC 3830 §4.2.3 (NULL only over an otherwise secured carrier), protocol §4.7, §6.3 (check G-U8)',
  },
  // --- Solicited pull (protocol §1.3) ---
  {
    name: 'ue-pull-unauthenticated', role: 'ue', procedure: 'solicited-pull',
    description: 'starts the MSK request on a solicited-pull trigger whose MAC is wrong (no ACK is sent)',
    violates: 'TS 33.246 §6.3.2.1 push solicited pull / protocol §1.3 (trigger authenticated with the MUK first; check G-U9)',
  },
  {
    name: 'ue-pull-replayed', role: 'ue', procedure: 'solicited-pull',
    description: 'starts the MSK request again on a replayed solicited-pull trigger (replay check skipped for triggers)',
    violates: 'RFC 3830 §5.4, protocol §1.3, §6.1 (replayed trigger must not cause an HTTP request; check G-U9)',
  },
  // --- MTK messages (6.3.3, protocol §1.4) ---
  {
    name: 'ue-ack-mtk', role: 'ue', procedure: 'mtk-update',
    description: 'answers every accepted MTK message with a verification message (whatever its V bit)',
    violates: 'TS 33.246 §6.3.3 / protocol §1.4 (MTK messages are point-to-multipoint and never answered; check M-U1)',
  },
  {
    name: 'ue-sends-err-on-mtk', role: 'ue', procedure: 'mtk-update',
    description: 'answers an MTK message it discards (replay, bad MAC, unknown MSK) with a MIKEY error message',
    violates: 'protocol §1.4, §9 O19 (no UDP reply to MTK messages, neither verification nor error; check M-U1, G-U6)',
  },
  {
    name: 'ue-no-missed-key-request', role: 'ue', procedure: 'mtk-update', alsoIn: ['msk-request'],
    description: 'does nothing on an MTK message for an MSK it does not hold, instead of requesting that MSK',
    violates: 'TS 33.246 §6.3.1 (missed key update: UE-initiated MSK request), protocol §1.4 (check M-U2)',
  },
]);

/** Names of the UE faults, for command-line help and configuration checks. */
export const UE_FAULT_NAMES: readonly string[] = UE_FAULTS.map((f) => f.name);
