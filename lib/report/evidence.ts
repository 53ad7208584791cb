// The evidence documents attached to each case: decoded MIKEY messages with the verdicts of the
// checks that looked at them (MAC, decryption, ...), the HTTP Digest worksheet of the exchange,
// and expected versus actual of every failure. Plain data, serialized as JSON and as text.
import { SIDE_NAMES, type Role } from '../suite/verdict.ts';
import { toReportJson } from './redact.ts';
import type { CaseResult, Finding, HttpRequestEvent, HttpResponseEvent, TraceEvent } from './types.ts';
import { mikeyKind } from './ladder.ts';

const endpoint = (e: { address: string; port: number }): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

function findingsFor(result: CaseResult, eventId: number): Finding[] {
  const seen = new Set<Finding>();
  for (const f of [...result.findings, ...result.steps.flatMap((s) => s.findings)]) if (f.evidence.events.includes(eventId)) seen.add(f);
  return [...seen];
}

export interface MikeyDocument {
  event: number; frames: number[]; time: number; src: string; dst: string; actor: string;
  kind: string; length: number; hex: string;
  decoded?: unknown; decodeError?: { offset: number; payload: string; reason: string };
  checks: { check: string; verdict: string; message: string }[];
}

/** Every MIKEY message of the case, decoded, with the checks (MAC, decryption, ...) that cite it. */
export function mikeyDocuments(result: CaseResult, opts: { allowSecrets?: boolean } = {}): MikeyDocument[] {
  const t0 = result.trace.reduce((min, e) => Math.min(min, e.time), Number.POSITIVE_INFINITY);
  return result.trace.filter((e) => e.kind === 'mikey').map((e) => ({
    event: e.id, frames: e.frames, time: Number((e.time - t0).toFixed(3)), src: endpoint(e.src), dst: endpoint(e.dst), actor: e.actor,
    kind: mikeyKind(e), length: e.bytes.length, hex: Buffer.from(e.bytes).toString('hex'),
    ...(e.message !== undefined ? { decoded: toReportJson(e.message, opts) } : {}),
    ...(e.decodeError ? { decodeError: e.decodeError } : {}),
    checks: findingsFor(result, e.id).map((f) => ({ check: f.check, verdict: f.verdict, message: f.message })),
  }));
}

export function mikeyDocumentsText(docs: MikeyDocument[]): string {
  if (docs.length === 0) return 'No MIKEY message in this case.\n';
  return docs.map((d) => [
    `#${d.event} ${d.kind}  +${d.time} ms  ${d.src} -> ${d.dst}  frames ${d.frames.join(',') || '-'}  ${d.length} bytes`,
    ...d.checks.map((c) => `  [${c.verdict}] ${c.check}: ${c.message}`),
    d.decodeError ? `  decode error at offset ${d.decodeError.offset} in ${d.decodeError.payload}: ${d.decodeError.reason}` : '',
    `  hex: ${d.hex}`,
    d.decoded !== undefined ? JSON.stringify(d.decoded, null, 2).split('\n').map((l) => `  ${l}`).join('\n') : '',
  ].filter(Boolean).join('\n')).join('\n\n') + '\n';
}

/**
 * Splits an HTTP auth header value into its scheme and parameters (RFC 7235 §2.1 auth-param:
 * token "=" ( token / quoted-string )). For display only: the verifiers use lib/digest.
 */
export function authParams(value: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(value);
  const scheme = m?.[1] ?? '';
  const params: Record<string, string> = {};
  const re = /([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  re.lastIndex = m ? m[0].length : 0;
  for (let p = re.exec(value); p; p = re.exec(value)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3] ?? '';
  }
  return { scheme, params };
}

const headerValues = (headers: [string, string][], name: string): string[] => headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

export interface DigestExchange {
  request: { event: number; method: string; target: string; authorization?: Record<string, string>; bodyLength: number; bodySha256?: string };
  response?: { event: number; status: number; challenge?: Record<string, string>[]; authenticationInfo?: Record<string, string> };
}

export interface DigestWorksheetDocument {
  exchanges: DigestExchange[];
  /** Worksheets computed by lib/digest (inputs and intermediate hashes HA1, HA2, response, rspauth), redacted. */
  computed: unknown[];
  checks: { check: string; verdict: string; message: string; expected?: unknown; actual?: unknown }[];
}

/**
 * The HTTP Digest worksheet: what each side sent (challenge, credentials, Authentication-Info)
 * taken from the trace, the worksheets lib/digest computed (when the engine passes them), and the
 * digest checks with their expected and actual values. Secrets (password, HA1) are redacted.
 */
export function digestWorksheet(result: CaseResult, computed: unknown[] = [], opts: { allowSecrets?: boolean } = {}): DigestWorksheetDocument {
  const responses = result.trace.filter((e): e is HttpResponseEvent => e.kind === 'http-response');
  const exchanges: DigestExchange[] = result.trace.filter((e): e is HttpRequestEvent => e.kind === 'http-request').map((req) => {
    const res = responses.find((r) => r.requestId === req.id) ?? responses.find((r) => r.conn === req.conn && r.time >= req.time && r.requestId === undefined);
    const authorization = headerValues(req.headers, 'authorization')[0];
    const challenges = res ? headerValues(res.headers, 'www-authenticate') : [];
    const info = res ? headerValues(res.headers, 'authentication-info')[0] : undefined;
    return {
      request: {
        event: req.id, method: req.method, target: req.target,
        ...(authorization ? { authorization: authParams(authorization).params } : {}),
        bodyLength: req.body.length,
      },
      ...(res ? {
        response: {
          event: res.id, status: res.status,
          ...(challenges.length ? { challenge: challenges.map((c) => ({ scheme: authParams(c).scheme, ...authParams(c).params })) } : {}),
          ...(info ? { authenticationInfo: authParams(`x ${info}`).params } : {}),
        },
      } : {}),
    };
  });
  const digestChecks = [...result.findings, ...result.steps.flatMap((s) => s.findings)]
    .filter((f, i, all) => all.indexOf(f) === i && /digest|rspauth|nonce|auth|401|realm|qop/i.test(`${f.check} ${f.message}`));
  return {
    exchanges,
    computed: computed.map((w) => toReportJson(w, opts)),
    checks: digestChecks.map((f) => ({ check: f.check, verdict: f.verdict, message: f.message,
      ...(f.expected !== undefined ? { expected: toReportJson(f.expected, opts) } : {}),
      ...(f.actual !== undefined ? { actual: toReportJson(f.actual, opts) } : {}) })),
  };
}

export function hasDigest(doc: DigestWorksheetDocument): boolean {
  return doc.computed.length > 0 || doc.exchanges.some((x) => x.request.authorization || x.response?.challenge || x.response?.authenticationInfo);
}

export interface FailureDocument {
  verdict: string; check: string; blame?: Role; message: string; step?: number;
  expected: unknown; actual: unknown; evidence: { events: number[]; frames: number[] };
}

/** Expected versus actual of every non-passing finding, in the order they were found. */
export function failureDocuments(result: CaseResult, opts: { allowSecrets?: boolean } = {}): FailureDocument[] {
  const all = [...result.findings, ...result.steps.flatMap((s) => s.findings)].filter((f, i, a) => a.indexOf(f) === i);
  return all.filter((f) => f.verdict === 'FAIL' || f.verdict === 'ERROR' || f.verdict === 'INCONC').map((f) => ({
    verdict: f.verdict, check: f.check, ...(f.blame ? { blame: f.blame } : {}), message: f.message, ...(f.step !== undefined ? { step: f.step } : {}),
    expected: toReportJson(f.expected, opts) ?? null, actual: toReportJson(f.actual, opts) ?? null, evidence: f.evidence,
  }));
}

export function failuresText(docs: FailureDocument[]): string {
  return docs.map((d) => [
    `${d.verdict} ${d.blame ? `[${SIDE_NAMES[d.blame]}] ` : ''}${d.check}${d.step !== undefined ? ` (step ${d.step})` : ''}: ${d.message}`,
    `  expected: ${JSON.stringify(d.expected)}`,
    `  actual:   ${JSON.stringify(d.actual)}`,
    `  evidence: events ${d.evidence.events.join(',') || '-'}; pcap frames ${d.evidence.frames.join(',') || '-'}`,
  ].join('\n')).join('\n\n') + '\n';
}

/** Trace event ids cited by FAIL/ERROR findings: the events the ladder marks in red. */
export function failingEventIds(result: CaseResult): number[] {
  const ids = new Set<number>();
  for (const f of [...result.findings, ...result.steps.flatMap((s) => s.findings)]) {
    if (f.verdict === 'FAIL' || f.verdict === 'ERROR') for (const id of f.evidence.events) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export type { TraceEvent };
