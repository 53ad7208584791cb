// Faults of the reference BM-SC: each one deviation from TS 33.246 clause 6.3 / RFC 2617 / RFC 3830 that a
// BM-SC-under-test case must catch (DESIGN.md "Every check can fail"). Reference section numbers (§n.n)
// point into the project's protocol notes (docs/protocol.md).
import type { FaultDefinition } from '../common/index.ts';

export const BMSC_FAULTS: readonly FaultDefinition[] = Object.freeze([
  // --- HTTP Digest on the MSK request (6.3.1, protocol §2, §3) ---
  {
    name: 'bmsc-wrong-realm', role: 'bmsc', procedure: 'msk-request',
    description: 'challenges with realm "<NAF FQDN>" instead of "3GPP-bootstrapping@<NAF FQDN>"',
    violates: 'TS 24.109 §5.2 / protocol §3.3 (GBA realm prefix, check A-B1)',
  },
  {
    name: 'bmsc-no-challenge', role: 'bmsc', procedure: 'msk-request',
    description: 'serves an MSK request without Authorization (no 401 challenge), taking the user from the source address',
    violates: 'TS 33.246 §6.3.1 (Digest authentication with GBA credentials) / RFC 2617 §3.2.1 (check A-B1)',
  },
  {
    name: 'bmsc-accept-wrong-digest', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request whose Digest response does not verify (wrong password, or auth-int body tampered after signing)',
    violates: 'RFC 2617 §3.2.2 (response must be checked; checks A-B6, A-B11)',
  },
  {
    name: 'bmsc-accept-replayed-nc', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request that repeats a nonce-count already used with the same nonce',
    violates: 'RFC 2617 §3.2.2 (nc replay detection, check A-B9)',
  },
  {
    name: 'bmsc-ignore-stale', role: 'bmsc', procedure: 'msk-request',
    description: 'answers a correct response on an expired nonce with 401 without stale=true',
    violates: 'RFC 2617 §3.2.1 (stale flag, check A-B8)',
  },
  {
    name: 'bmsc-uri-not-checked', role: 'bmsc', procedure: 'msk-request',
    description: 'serves a request whose Digest uri differs from the Request-URI instead of answering 400',
    violates: 'RFC 2617 §3.2.2.5 (digest-uri must match, check A-B10)',
  },
  {
    name: 'bmsc-no-auth-info', role: 'bmsc', procedure: 'msk-request',
    description: 'sends the 200 OK without an Authentication-Info header',
    violates: 'TS 33.246 §6.3.1 (200 OK with Authentication-Info) / RFC 2617 §3.2.3 (check A-B2)',
  },
  {
    name: 'bmsc-wrong-rspauth', role: 'bmsc', procedure: 'msk-request',
    description: 'sends an Authentication-Info rspauth that does not match the response body (one hex digit changed)',
    violates: 'RFC 2617 §3.2.3 (rspauth over the response, auth-int body, check A-B2)',
  },
  {
    name: 'bmsc-grant-unsubscribed', role: 'bmsc', procedure: 'msk-request',
    description: 'grants (status success and an MSK message) an MSK of a key group the user is not subscribed to',
    violates: 'TS 33.246 §6.3.1 (BM-SC authorises the user per MSK; check A-B12)',
  },
  {
    name: 'bmsc-mikey-before-200', role: 'bmsc', procedure: 'msk-request',
    description: 'sends the MIKEY MSK message before writing the 200 OK',
    violates: 'TS 33.246 §6.3.1 ("if the key request ... resulted to success, the BM-SC sends MIKEY"), protocol §1.1',
  },
  // --- MIKEY MSK messages (6.3.1 step 5, 6.3.2.1, protocol §4, §5, §6) ---
  {
    name: 'bmsc-bad-mac', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push', 'solicited-pull', 'mtk-update'],
    description: 'sends MIKEY messages whose KEMAC MAC is wrong (last octet changed)',
    violates: 'RFC 3830 §5.2, §6.2 (MAC over the message with the derived auth key, check A-B4)',
  },
  {
    name: 'bmsc-null-encryption', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push', 'mtk-update'],
    description: 'sends the key in a KEMAC with encryption algorithm NULL (key in clear, MAC still valid)',
    violates: 'RFC 3830 §4.2.3 (NULL only on an otherwise secured carrier), protocol §4.7 (check G-B2)',
  },
  {
    name: 'bmsc-short-rand', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push'],
    description: 'sends MSK messages with an 8-octet RAND',
    violates: 'RFC 3830 §6.11 (RAND SHOULD be at least 128 bits), protocol §7.1 G-B2',
  },
  {
    name: 'bmsc-wrong-key-ids', role: 'bmsc', procedure: 'msk-request', alsoIn: ['msk-push'],
    description: 'puts an MSK ID one Key Number higher than the delivered MSK in the EXT Key ID payload',
    violates: 'RFC 4563 §4, TS 33.246 §6.3.1 (EXT key IDs identify the key carried; check A-B4)',
  },
  {
    name: 'bmsc-fresh-rand-per-message', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'draws a new RAND for every MSK message, so UEs derive different MTK-message keys from the same MSK',
    violates: 'protocol §5.3 (the RAND belongs to the MSK; MTK delivery to every UE, O15)',
  },
  {
    name: 'bmsc-reuse-counter', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'reuses the previous COUNTER value for the next MIKEY message to the same MUK (or MSK)',
    violates: 'RFC 3830 §5.3, §6.6; protocol §6.1 (counter per MUK / per MSK strictly increasing)',
  },
  {
    name: 'bmsc-decreasing-counter', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request', 'mtk-update'],
    description: 'sends each next MIKEY message to the same MUK (or MSK) with a COUNTER one lower than the previous one',
    violates: 'RFC 3830 §5.3; protocol §6.1 (counter per MUK / per MSK strictly increasing)',
  },
  // --- ACK handling and retransmission (protocol §1.2, §6.1, O18) ---
  {
    name: 'bmsc-never-retransmit', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'never retransmits an MSK message with V=1 that was not acknowledged',
    violates: 'protocol §1.2 and §9 O18 (retransmission policy of the profile, check P-B2)',
  },
  {
    name: 'bmsc-retransmit-after-ack', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'keeps retransmitting an MSK message after a valid verification message arrived',
    violates: 'protocol §1.2, §9 O18 (stop after ACK, check A-B5)',
  },
  {
    name: 'bmsc-accept-bad-ack', role: 'bmsc', procedure: 'msk-push', alsoIn: ['msk-request'],
    description: 'takes a verification message whose V MAC does not verify as the ACK (stops retransmitting)',
    violates: 'RFC 3830 §5.2, §6.9 (verification MAC), protocol §6.3 (check G-B1)',
  },
  // --- Solicited pull and MTK update ---
  {
    name: 'bmsc-trigger-nonzero-ids', role: 'bmsc', procedure: 'solicited-pull',
    description: 'sends the solicited-pull trigger with the current MSK ID in the EXT payload instead of 0x0',
    violates: 'TS 33.246 §6.3.2.1 push solicited pull ("key IDs ... set to 0x0"), protocol §1.3 (check S-B1)',
  },
  {
    name: 'bmsc-mtk-with-v', role: 'bmsc', procedure: 'mtk-update',
    description: 'sends MTK messages with the V flag set (asks multicast receivers for an ACK)',
    violates: 'TS 33.246 §6.3.3 ("the MIKEY ACK is not used"), protocol §1.4 (check M-B1)',
  },
  {
    name: 'bmsc-repeat-mtk-id', role: 'bmsc', procedure: 'mtk-update',
    description: 'sends a new MTK under the same MTK ID as the previous one',
    violates: 'protocol §6.2, §9 O21 (MTK ID strictly increasing per MSK, check M-B1)',
  },
] satisfies FaultDefinition[]);

export type BmscFaultName = (typeof BMSC_FAULTS)[number]['name'];
