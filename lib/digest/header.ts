// Parse and format WWW-Authenticate, Authorization and Authentication-Info values carrying HTTP Digest.
// Grammar: RFC 7235 §2.1 (challenge, credentials, auth-param), RFC 7230 §3.2.6 (token, quoted-string,
// quoted-pair), RFC 7230 §7 (lists: empty elements tolerated), RFC 7616 §3.3-3.5 (Digest directives).
import { DigestParseError } from './errors.ts';
import type { AuthChallenge, AuthenticationInfo, AuthParam, DigestChallenge, DigestCredentials } from './types.ts';

// RFC 7230 §3.2.6 tchar.
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
// RFC 7235 §2.1 token68 characters (before the trailing '=' padding).
const TOKEN68_CHAR = /^[A-Za-z0-9\-._~+/]$/;

function isTchar(ch: string | undefined): boolean {
  return ch !== undefined && TCHAR.test(ch);
}

function isSpace(ch: string | undefined): boolean {
  // OWS is SP / HTAB; CR and LF are tolerated so that obsolete line folding does not break parsing.
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** A cursor over one header value; every failure names the offset and the directive being read. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }
  skipSpace(): void {
    while (isSpace(this.peek())) this.pos++;
  }
  /** Skips OWS and empty list elements (RFC 7230 §7: recipients accept `, ,`). Returns whether a comma was seen. */
  skipListSeparators(): boolean {
    let comma = false;
    for (;;) {
      this.skipSpace();
      if (this.peek() === ',') {
        comma = true;
        this.pos++;
      } else return comma;
    }
  }
  tokenLengthAhead(): number {
    let p = this.pos;
    while (p < this.text.length && isTchar(this.text[p])) p++;
    return p - this.pos;
  }
  readToken(): string {
    const start = this.pos;
    while (isTchar(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  fail(reason: string, directive?: string, position = this.pos): never {
    throw new DigestParseError(reason, position, directive);
  }
  /** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; returns the unescaped content. */
  readQuoted(directive: string): string {
    const open = this.pos;
    this.pos++; // opening DQUOTE
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail('unterminated quoted-string', directive, open);
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '\\') {
        const next = this.peek(1);
        if (next === undefined) this.fail('backslash at end of quoted-string', directive);
        out += next;
        this.pos += 2;
        continue;
      }
      out += ch;
      this.pos++;
    }
  }
  /**
   * Unquoted value. RFC 7235 requires a token; real peers send base64 nonces unquoted, so every character
   * up to whitespace, comma or DQUOTE is accepted and the caller can judge `quoted: false` in strict mode.
   */
  readBareValue(directive: string): string {
    const start = this.pos;
    while (!this.done && !isSpace(this.peek()) && this.peek() !== ',' && this.peek() !== '"') this.pos++;
    if (this.pos === start) this.fail('missing value', directive);
    return this.text.slice(start, this.pos);
  }
}

/** auth-param = token BWS "=" BWS ( token / quoted-string ); the cursor is on the token. */
function readAuthParam(cur: Cursor): AuthParam {
  const position = cur.pos;
  const rawName = cur.readToken();
  if (!rawName) cur.fail(`expected a directive name, found ${describeChar(cur.peek())}`);
  const name = rawName.toLowerCase();
  cur.skipSpace();
  if (cur.peek() !== '=') cur.fail(`expected "=" after directive name, found ${describeChar(cur.peek())}`, name);
  cur.pos++;
  cur.skipSpace();
  if (cur.done || cur.peek() === ',') cur.fail('missing value', name);
  if (cur.peek() === '"') {
    return { name, rawName, value: cur.readQuoted(name), quoted: true, position };
  }
  return { name, rawName, value: cur.readBareValue(name), quoted: false, position };
}

function describeChar(ch: string | undefined): string {
  return ch === undefined ? 'end of input' : JSON.stringify(ch);
}

/** After a parameter: OWS then end or a comma. Returns false at end of input. */
function expectListEnd(cur: Cursor, directive: string): boolean {
  cur.skipSpace();
  if (cur.done) return false;
  if (cur.peek() !== ',') cur.fail(`expected "," or end after value, found ${describeChar(cur.peek())}`, directive);
  return true;
}

/** Lookahead after a comma: is the next element an auth-param (token BWS "=") rather than a new scheme? */
function nextIsAuthParam(cur: Cursor): boolean {
  let p = cur.pos;
  const text = cur.text;
  while (p < text.length && isTchar(text[p])) p++;
  if (p === cur.pos) return false;
  while (isSpace(text[p])) p++;
  return text[p] === '=';
}

/** Tries token68 (RFC 7235 §2.1) at the cursor: 1*(token68 char) *"=" followed by end or comma. */
function tryToken68(cur: Cursor): string | undefined {
  const text = cur.text;
  let p = cur.pos;
  while (p < text.length && TOKEN68_CHAR.test(text[p]!)) p++;
  if (p === cur.pos) return undefined;
  while (text[p] === '=') p++;
  let q = p;
  while (isSpace(text[q])) q++;
  if (q < text.length && text[q] !== ',') return undefined;
  const value = text.slice(cur.pos, p);
  cur.pos = p;
  return value;
}

/**
 * Parses a whole WWW-Authenticate (or Proxy-Authenticate) value into challenges of every scheme
 * (`1#challenge`, RFC 7235 §4.1). A comma followed by `token =` continues the current challenge's
 * parameters; a comma followed by any other token starts a new challenge.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const cur = new Cursor(header);
  const challenges: AuthChallenge[] = [];
  cur.skipListSeparators();
  while (!cur.done) {
    const position = cur.pos;
    const scheme = cur.readToken();
    if (!scheme) cur.fail(`expected an auth-scheme, found ${describeChar(cur.peek())}`);
    const challenge: AuthChallenge = { scheme, position, params: [] };
    challenges.push(challenge);
    const afterScheme = cur.pos;
    cur.skipSpace();
    if (cur.done) break;
    if (cur.peek() === ',') {
      cur.skipListSeparators();
      continue;
    }
    if (cur.pos === afterScheme) cur.fail('expected a space after the auth-scheme', undefined);
    // Digest never uses token68 (RFC 7616 §3.3), so `realm=,` there is reported as a missing value.
    const isDigest = scheme.toLowerCase() === 'digest';
    if (!isDigest && (!nextIsAuthParam(cur) || isToken68Only(cur))) {
      const token68 = tryToken68(cur);
      if (token68 !== undefined) {
        challenge.token68 = token68;
        cur.skipListSeparators();
        continue;
      }
    }
    // #auth-param of this challenge.
    for (;;) {
      const param = readAuthParam(cur);
      challenge.params.push(param);
      if (!expectListEnd(cur, param.name)) break;
      cur.skipListSeparators();
      if (cur.done || !nextIsAuthParam(cur)) break;
    }
    cur.skipListSeparators();
  }
  return challenges;
}

// A value like `abc==` right after the scheme is token68, not a parameter named abc with an empty value.
function isToken68Only(cur: Cursor): boolean {
  const text = cur.text;
  let p = cur.pos + cur.tokenLengthAhead();
  if (text[p] !== '=') return false;
  p++;
  while (text[p] === '=') p++;
  while (isSpace(text[p])) p++;
  return p >= text.length || text[p] === ',';
}


/** Parses `#auth-param` (the whole value), as used by Authentication-Info (RFC 7616 §3.5). */
export function parseAuthParams(value: string, startAt = 0): AuthParam[] {
  const cur = new Cursor(value);
  cur.pos = startAt;
  const params: AuthParam[] = [];
  cur.skipListSeparators();
  while (!cur.done) {
    const param = readAuthParam(cur);
    params.push(param);
    if (!expectListEnd(cur, param.name)) break;
    cur.skipListSeparators();
  }
  return params;
}

/** Parses `auth-scheme [ token68 / #auth-param ]` of an Authorization value (RFC 7235 §2.1, §4.2). */
export function parseAuthCredentials(authorization: string): { scheme: string; position: number; token68?: string; params: AuthParam[] } {
  const cur = new Cursor(authorization);
  cur.skipSpace();
  const position = cur.pos;
  const scheme = cur.readToken();
  if (!scheme) cur.fail(`expected an auth-scheme, found ${describeChar(cur.peek())}`);
  if (!cur.done && !isSpace(cur.peek())) cur.fail('expected a space after the auth-scheme');
  cur.skipSpace();
  if (scheme.toLowerCase() !== 'digest' && !cur.done && (!nextIsAuthParam(cur) || isToken68Only(cur))) {
    const token68 = tryToken68(cur);
    if (token68 !== undefined) return { scheme, position, token68, params: [] };
  }
  return { scheme, position, params: parseAuthParams(authorization, cur.pos) };
}

// ---- Digest mapping ------------------------------------------------------------------------------

/** Options of the Digest parsers. */
export interface DigestParseOptions {
  /**
   * Enforce RFC 7616 §3.3-3.5 quoting: quoted-string directives must be quoted and token directives
   * (algorithm, qop in credentials, nc, stale, userhash, charset) must not be. Off by default (peers vary).
   */
  strict?: boolean;
}

function collect(params: AuthParam[], context: string): Map<string, AuthParam> {
  const map = new Map<string, AuthParam>();
  for (const p of params) {
    // RFC 7616 §3.3/§3.4: each directive MUST NOT appear more than once.
    if (map.has(p.name)) throw new DigestParseError(`duplicate directive in ${context}`, p.position, p.name);
    map.set(p.name, p);
  }
  return map;
}

function requireParam(map: Map<string, AuthParam>, name: string, context: string, position: number): string {
  const p = map.get(name);
  if (!p) throw new DigestParseError(`missing required directive in ${context}`, position, name);
  return p.value;
}

function checkQuoting(map: Map<string, AuthParam>, quoted: string[], unquoted: string[]): void {
  for (const name of quoted) {
    const p = map.get(name);
    if (p && !p.quoted) throw new DigestParseError('value must be a quoted-string (RFC 7616 §3.3-3.5)', p.position, name);
  }
  for (const name of unquoted) {
    const p = map.get(name);
    if (p && p.quoted) throw new DigestParseError('value must be an unquoted token (RFC 7616 §3.3-3.5)', p.position, name);
  }
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function extraOf(map: Map<string, AuthParam>, known: readonly string[]): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const [name, p] of map) if (!known.includes(name)) extra[name] = p.value;
  return extra;
}

const CHALLENGE_KNOWN = ['realm', 'nonce', 'opaque', 'qop', 'algorithm', 'stale', 'domain', 'charset', 'userhash'] as const;

/** Maps a generic challenge of scheme Digest to a DigestChallenge. */
export function toDigestChallenge(challenge: AuthChallenge, options: DigestParseOptions = {}): DigestChallenge {
  if (challenge.token68 !== undefined) {
    throw new DigestParseError('Digest challenge carries token68 instead of directives', challenge.position);
  }
  const map = collect(challenge.params, 'Digest challenge');
  if (options.strict) checkQuoting(map, ['realm', 'nonce', 'opaque', 'qop', 'domain'], ['algorithm', 'stale', 'charset', 'userhash']);
  const out: DigestChallenge = {
    realm: requireParam(map, 'realm', 'Digest challenge', challenge.position),
    nonce: requireParam(map, 'nonce', 'Digest challenge', challenge.position),
    extra: extraOf(map, CHALLENGE_KNOWN),
  };
  const opaque = map.get('opaque');
  if (opaque) out.opaque = opaque.value;
  const qop = map.get('qop');
  if (qop) out.qop = splitList(qop.value);
  const algorithm = map.get('algorithm');
  if (algorithm) out.algorithm = algorithm.value;
  const stale = map.get('stale');
  if (stale) out.stale = stale.value.toLowerCase() === 'true';
  const domain = map.get('domain');
  if (domain) out.domain = domain.value.split(/[ \t]+/).filter((s) => s.length > 0);
  const charset = map.get('charset');
  if (charset) out.charset = charset.value;
  const userhash = map.get('userhash');
  if (userhash) out.userhash = userhash.value.toLowerCase() === 'true';
  return out;
}

/**
 * Digest challenges of a WWW-Authenticate value; challenges of other schemes are skipped. Several header
 * fields may be given as an array (equivalent to joining them with commas, RFC 7230 §3.2.2).
 */
export function parseChallenges(wwwAuthenticate: string | readonly string[], options: DigestParseOptions = {}): DigestChallenge[] {
  if (typeof wwwAuthenticate !== 'string') return wwwAuthenticate.flatMap((v) => parseChallenges(v, options));
  return parseAuthChallenges(wwwAuthenticate)
    .filter((c) => c.scheme.toLowerCase() === 'digest')
    .map((c) => toDigestChallenge(c, options));
}

const CREDENTIALS_KNOWN = ['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'cnonce', 'opaque', 'qop', 'nc', 'userhash'] as const;

/** Parses an Authorization value `Digest username=..., ...` (RFC 7616 §3.4). */
export function parseCredentials(authorization: string, options: DigestParseOptions = {}): DigestCredentials {
  const { scheme, position: where, params } = parseAuthCredentials(authorization);
  if (scheme.toLowerCase() !== 'digest') throw new DigestParseError(`auth-scheme is "${scheme}", expected "Digest"`, where);
  const map = collect(params, 'Digest credentials');
  if (options.strict) {
    checkQuoting(map, ['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque'], ['algorithm', 'qop', 'nc', 'userhash']);
  }
  const out: DigestCredentials = {
    username: requireParam(map, 'username', 'Digest credentials', where),
    realm: requireParam(map, 'realm', 'Digest credentials', where),
    nonce: requireParam(map, 'nonce', 'Digest credentials', where),
    uri: requireParam(map, 'uri', 'Digest credentials', where),
    response: requireParam(map, 'response', 'Digest credentials', where),
    extra: extraOf(map, CREDENTIALS_KNOWN),
  };
  for (const name of ['algorithm', 'cnonce', 'opaque', 'qop', 'nc'] as const) {
    const p = map.get(name);
    if (p) out[name] = p.value;
  }
  const userhash = map.get('userhash');
  if (userhash) out.userhash = userhash.value.toLowerCase() === 'true';
  return out;
}

const INFO_KNOWN = ['qop', 'rspauth', 'cnonce', 'nc', 'nextnonce'] as const;

/** Parses an Authentication-Info value (RFC 7616 §3.5; RFC 2617 §3.2.3). */
export function parseAuthenticationInfo(value: string, options: DigestParseOptions = {}): AuthenticationInfo {
  const map = collect(parseAuthParams(value), 'Authentication-Info');
  if (options.strict) checkQuoting(map, ['rspauth', 'cnonce', 'nextnonce'], ['qop', 'nc']);
  const out: AuthenticationInfo = { extra: extraOf(map, INFO_KNOWN) };
  for (const name of INFO_KNOWN) {
    const p = map.get(name);
    if (p) out[name] = p.value;
  }
  return out;
}

// ---- formatting ----------------------------------------------------------------------------------

/** quoted-string with `"` and `\` escaped as quoted-pairs (RFC 7230 §3.2.6). */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function token(name: string, value: string): string {
  // A value that is not a token cannot be sent bare; fall back to quoted-string rather than emit garbage.
  return value.length > 0 && [...value].every((c) => isTchar(c)) ? `${name}=${value}` : `${name}=${quote(value)}`;
}

function assertName(name: string): void {
  if (!name || ![...name].every((c) => isTchar(c))) throw new DigestParseError('directive name is not a token', 0, name);
}

function formatExtra(extra: Record<string, string> | undefined): string[] {
  return Object.entries(extra ?? {}).map(([name, value]) => {
    assertName(name);
    return `${name}=${quote(value)}`;
  });
}

/** `Digest realm="..", qop="auth, auth-int", nonce="..", ...` (RFC 7616 §3.3 quoting). */
export function formatChallenge(c: DigestChallenge): string {
  const parts = [`realm=${quote(c.realm)}`];
  if (c.qop !== undefined) parts.push(`qop=${quote(c.qop.join(', '))}`);
  parts.push(`nonce=${quote(c.nonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.algorithm !== undefined) parts.push(token('algorithm', c.algorithm));
  if (c.stale !== undefined) parts.push(`stale=${c.stale ? 'true' : 'false'}`);
  if (c.domain !== undefined) parts.push(`domain=${quote(c.domain.join(' '))}`);
  if (c.charset !== undefined) parts.push(token('charset', c.charset));
  if (c.userhash !== undefined) parts.push(`userhash=${c.userhash ? 'true' : 'false'}`);
  parts.push(...formatExtra(c.extra));
  return `Digest ${parts.join(', ')}`;
}

/** `Digest username="..", ...`; qop, nc, algorithm as tokens, the rest quoted (RFC 7616 §3.4). */
export function formatCredentials(c: DigestCredentials): string {
  const parts = [`username=${quote(c.username)}`, `realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`, `uri=${quote(c.uri)}`];
  if (c.algorithm !== undefined) parts.push(token('algorithm', c.algorithm));
  if (c.qop !== undefined) parts.push(token('qop', c.qop));
  if (c.nc !== undefined) parts.push(token('nc', c.nc));
  if (c.cnonce !== undefined) parts.push(`cnonce=${quote(c.cnonce)}`);
  parts.push(`response=${quote(c.response)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.userhash !== undefined) parts.push(`userhash=${c.userhash ? 'true' : 'false'}`);
  parts.push(...formatExtra(c.extra));
  return `Digest ${parts.join(', ')}`;
}

/** `qop=auth-int, rspauth="..", cnonce="..", nc=00000001, nextnonce=".."` (RFC 7616 §3.5). */
export function formatAuthenticationInfo(i: AuthenticationInfo): string {
  const parts: string[] = [];
  if (i.nextnonce !== undefined) parts.push(`nextnonce=${quote(i.nextnonce)}`);
  if (i.qop !== undefined) parts.push(token('qop', i.qop));
  if (i.rspauth !== undefined) parts.push(`rspauth=${quote(i.rspauth)}`);
  if (i.cnonce !== undefined) parts.push(`cnonce=${quote(i.cnonce)}`);
  if (i.nc !== undefined) parts.push(token('nc', i.nc));
  parts.push(...formatExtra(i.extra));
  return parts.join(', ');
}
