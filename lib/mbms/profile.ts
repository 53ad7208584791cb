// The MBMS profile: every open point of protocol §9 (O1-O24) as plain JSON-serialisable data, with the
// reference's "default we suggest" values. Each field names its open point; profile.schema.json describes
// the same fields for users writing YAML/JSON profiles.
import { defaultMikeyProfile, type MikeyProfile } from './mikey-link.ts';

export type { MikeyProfile };

/** Digest algorithms of RFC 2617 / RFC 7616 the profile may select (O5). */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

/** O2, O5, O6 and the HTTP media types of protocol §2.1. */
export interface HttpProfile {
  /** O2: path of the MSK request URI. */
  path: string;
  /** O2: query string of the MSK request URI, without '?' ('' = none). */
  query: string;
  /** Protocol §2.1: Content-Type of the MSK request body. */
  requestContentType: string;
  /** Protocol §2.1: Content-Type of the MSK response body. */
  responseContentType: string;
  /** O5: qop the BM-SC offers and the UE must use. */
  qop: 'auth-int' | 'auth';
  /** O5: Digest algorithm (missing `algorithm` directive means MD5, RFC 2617 §3.2.1). */
  algorithm: DigestAlgorithm;
  /** O5: Authentication-Info with rspauth is mandatory on 200 OK and the UE must verify it. */
  rspauthMandatory: boolean;
  /** O5: the BM-SC sends nextnonce in Authentication-Info and the UE uses it for its next request. */
  nextnonce: boolean;
  /** Protocol §2.2: product token in User-Agent (24.109 B.3: '3gpp-gba' for GBA_ME/GBA_U). */
  userAgentToken: string;
  /** O6: accepted realm prefixes (realm = '<prefix>@<NAF FQDN>'). */
  realmPrefixes: string[];
  /** O6: whether the UE checks that the realm's host equals the BM-SC FQDN. */
  checkRealmHost: boolean;
  /** Protocol §3.2: lifetime of a server nonce before it is answered with stale=true. */
  nonceTtlMs: number;
}

/** O3: XML shape of the MSK request and response bodies (protocol §2.3, §2.4). */
export interface XmlProfile {
  requestRoot: string;
  /** Namespace of the request root ('' = no xmlns attribute). */
  requestNamespace: string;
  responseRoot: string;
  /** Namespace of the response root ('' = no xmlns attribute; 26.346 §11.8 names urn:3GPP:metadata:2005:MBMS:mskResponse). */
  responseNamespace: string;
  keyDomainIdElement: string;
  mskIdElement: string;
  statusElement: string;
  /**
   * Element wrapping each request/response entry; null = flat layout (protocol §2.3: a keyDomainID element
   * followed by the mskID elements of that domain; response: mskID then status per entry).
   */
  entryElement: string | null;
  /** Encoding of the binary IDs in element text. */
  idEncoding: 'base64' | 'hex';
  /** Emit `<?xml version="1.0" encoding="UTF-8"?>` followed by LF. */
  xmlDeclaration: boolean;
  /** Terminate the document with LF (the §8.2 bodies do). */
  finalNewline: boolean;
}

/**
 * O4: per-MSK status codes in the MSK response. `success` is required; other names are free and map a
 * meaning to the numeric value the BM-SC puts into the body.
 */
export interface StatusCodes {
  success: number;
  [meaning: string]: number;
}

/** O17: where the UE sends its verification message (ACK). */
export interface AckProfile {
  /** 'source' = the source IP:port of the MSK message; 'configured' = address/port below. */
  destination: 'source' | 'configured';
  address?: string;
  port?: number;
}

/** O18: BM-SC retransmission of MSK messages with V=1 that were not ACKed. */
export interface RetransmissionProfile {
  intervalMs: number;
  /** Retransmissions after the first transmission. */
  count: number;
  /** A retransmission carries a fresh TS counter (and hence a new MAC/encryption) rather than repeating bytes. */
  freshTs: boolean;
}

/** O19: when a UE emits MIKEY error messages (data type 6). */
export interface ErrorsProfile {
  ueSendsErr: 'never' | 'msk-only';
}

/** O20 (HTTP side; the MIKEY shape of the trigger is in `mikey`). */
export interface SolicitedPullProfile {
  /** Which Key Domain the UE requests after a trigger: the trigger's EXT domain, or all it is registered in. */
  requestDomain: 'trigger' | 'all';
  /** Which MSK IDs the UE requests: 'current' = MSK ID 0 per key group ("current MSK"), 'held' = the IDs it holds/joined. */
  requestMsks: 'held' | 'current';
  /** Upper bound of the random delay the UE waits before pulling (storm avoidance); 0 = none. */
  jitterMs: number;
}

/** O13, O14, O21: key identifier layout and rules (protocol §4.2, §6.2). */
export interface KeyIdsProfile {
  /** O14: Key Domain ID byte layout. */
  keyDomainLayout: 'plmn-bcd';
  /** O13: MTK ID length in octets. */
  mtkIdLength: number;
  /** O21: MSK Key Number and MTK ID must strictly increase (no wrap; 0 reserved). */
  monotonic: 'strict-increase' | 'none';
  /** O21: counter / ID wrap handling. */
  wrap: 'unsupported';
  /** O21: MSKs held per (Key Domain ID, Key Group) (TS 31.102 EF_MSK: 2). */
  maxMsksPerGroup: number;
  /**
   * O3: how a request names "the current MSK" of a key group (protocol §2.3): 'group-zero' = Key Group and
   * Key Number 0 (default), 'all-zero' = MSK ID 0x00000000, the current MSK of every key group of the domain.
   */
  currentMsk: 'group-zero' | 'all-zero';
}

/** O22: SRTP keying for streaming. */
export interface SrtpProfile {
  /** MKI length in octets: MSK ID (4) || MTK ID (mtkIdLength). */
  mkiLength: number;
}

/** O23: where MBMS security runs. */
export interface GbaProfile {
  /** GBA_ME: MUK = Ks_NAF in the ME; GBA_U: MUK = Ks_int_NAF in the UICC. */
  variant: 'GBA_ME' | 'GBA_U';
}

/** O24 (and the silence windows of the suite): all bounds on waiting, in milliseconds. */
export interface TimersProfile {
  /** T_deliver: HTTP 200 OK -> first MIKEY MSK message. */
  deliverMs: number;
  /** T_ack: MSK message with V=1 -> verification message. */
  ackMs: number;
  /** T_pull: solicited-pull trigger -> HTTP MSK request. */
  pullMs: number;
  /** Silence window: how long "nothing more arrives" is observed (no ACK to MTK, no retransmission after ACK). */
  silenceMs: number;
  /** MTK re-key interval of the BM-SC (new MTK message cadence). */
  rekeyMs: number;
  /** Bound on one HTTP exchange (request -> response). */
  httpMs: number;
}

/** Secrets handling (DESIGN.md: secrets redacted unless the profile says otherwise). */
export interface SecretsProfile {
  /** Show Ks_NAF, MUK, MSK, MTK values in logs, state and reports. */
  reveal: boolean;
}

/** The whole profile. Plain data: JSON.stringify / JSON.parse round-trips it. */
export interface MbmsProfile {
  /** O7-O16, O20 (MIKEY shape): owned by lib/mikey. */
  mikey: MikeyProfile;
  http: HttpProfile;
  xml: XmlProfile;
  /** O4 */
  statusCodes: StatusCodes;
  /** O1: UDP port on which the UE receives MIKEY. */
  ports: { ueMikey: number };
  /** O17 */
  ack: AckProfile;
  /** O18 (BM-SC side) */
  retransmission: RetransmissionProfile;
  /** O18 (UE side): a byte-identical duplicate of an accepted MSK message is dropped, or ACKed again. */
  ueDuplicatePolicy: 'drop' | 're-ack';
  /** O19 */
  errors: ErrorsProfile;
  /** O20 */
  solicitedPull: SolicitedPullProfile;
  /** O13, O14, O21 */
  keyIds: KeyIdsProfile;
  /** O22 */
  srtp: SrtpProfile;
  /** O23 */
  gba: GbaProfile;
  /** O24 */
  timers: TimersProfile;
  secrets: SecretsProfile;
}

/** Per-MSK status codes suggested for O4 (HTTP-like values; only 200 is settled). */
export const DEFAULT_STATUS_CODES: StatusCodes = Object.freeze({
  success: 200,
  badRequest: 400,
  notAuthorised: 403,
  unknownMsk: 404,
  serverError: 500,
}) as StatusCodes;

/**
 * Protocol §9 "default we suggest", for real devices: T = 2 s retransmission, 3 tries, fresh TS;
 * timers sized for a device on a real network.
 */
export function defaultProfile(): MbmsProfile {
  return {
    mikey: defaultMikeyProfile(),
    http: {
      path: '/keymanagement',
      query: 'requesttype=msk-request',
      requestContentType: 'application/mbms-msk+xml',
      responseContentType: 'application/mbms-msk-response+xml',
      qop: 'auth-int',
      algorithm: 'MD5',
      rspauthMandatory: true,
      nextnonce: true,
      userAgentToken: '3gpp-gba',
      realmPrefixes: ['3GPP-bootstrapping'],
      checkRealmHost: true,
      nonceTtlMs: 300_000,
    },
    xml: {
      requestRoot: 'mskRequest',
      requestNamespace: '',
      responseRoot: 'mskResponse',
      responseNamespace: '',
      keyDomainIdElement: 'keyDomainID',
      mskIdElement: 'mskID',
      statusElement: 'status',
      entryElement: null,
      idEncoding: 'base64',
      xmlDeclaration: true,
      finalNewline: true,
    },
    statusCodes: { ...DEFAULT_STATUS_CODES },
    ports: { ueMikey: 4359 },
    ack: { destination: 'source' },
    retransmission: { intervalMs: 2000, count: 3, freshTs: true },
    ueDuplicatePolicy: 'drop',
    errors: { ueSendsErr: 'never' },
    solicitedPull: { requestDomain: 'trigger', requestMsks: 'held', jitterMs: 0 },
    keyIds: { keyDomainLayout: 'plmn-bcd', mtkIdLength: 2, monotonic: 'strict-increase', wrap: 'unsupported', maxMsksPerGroup: 2, currentMsk: 'group-zero' },
    srtp: { mkiLength: 6 },
    gba: { variant: 'GBA_ME' },
    timers: { deliverMs: 5000, ackMs: 2000, pullMs: 5000, silenceMs: 3000, rekeyMs: 10_000, httpMs: 5000 },
    secrets: { reveal: false },
  };
}

/**
 * The profile of the embedded loopback references: the §9 defaults with short timers so a whole suite
 * runs in seconds (retransmission 150 ms, silence windows 300 ms, delivery 1 s). Protocol choices are
 * identical to defaultProfile(); only waiting bounds differ.
 */
export function referenceProfile(): MbmsProfile {
  const profile = defaultProfile();
  profile.retransmission = { ...profile.retransmission, intervalMs: 150 };
  profile.timers = { deliverMs: 1000, ackMs: 500, pullMs: 1000, silenceMs: 300, rekeyMs: 500, httpMs: 2000 };
  return profile;
}

/** The MSK request target of O2: path plus '?query' when the query is not empty (the Digest `uri`). */
export function mskRequestTarget(profile: Pick<MbmsProfile, 'http'>): string {
  return profile.http.query === '' ? profile.http.path : `${profile.http.path}?${profile.http.query}`;
}

/** Plain-object deep merge: objects merge recursively, arrays and scalars from `over` replace `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = key in out ? deepMerge(out[key], value) : value;
  }
  return out as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
