// Data model of HTTP Digest header values (RFC 7616 §3.3 challenge, §3.4 credentials, §3.5 Authentication-Info).

/** Algorithms of RFC 7616 §3.3 (MD5 also RFC 2617 §3.2.1). Header values may carry other spellings. */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

export type DigestQop = 'auth' | 'auth-int';

/** One `Digest` challenge of a WWW-Authenticate value. Directive names are case-insensitive on the wire. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** qop-options, split on commas (RFC 7616 §3.3: quoted list of tokens). */
  qop?: string[];
  /** As received (case preserved); absent means MD5 (RFC 2617 §3.2.1). */
  algorithm?: string;
  /** true when stale is "true" case-insensitively (RFC 7616 §3.3: any other value means false). */
  stale?: boolean;
  /** Space-separated URI list of the protection space (RFC 7616 §3.3). */
  domain?: string[];
  charset?: string;
  userhash?: boolean;
  /** Unknown directives, lower-case name -> unquoted value (kept for reports; RFC 7616 §3.3: ignore). */
  extra: Record<string, string>;
}

/** `Digest` credentials of an Authorization value (RFC 7616 §3.4). */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  /** digest-uri exactly as sent; must equal the request-target (RFC 2617 §3.2.2.5). */
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** Literal 8 hex digits as sent (RFC 2617 §3.2.2). */
  nc?: string;
  userhash?: boolean;
  extra: Record<string, string>;
}

/** Authentication-Info value (RFC 7616 §3.5, RFC 2617 §3.2.3). */
export interface AuthenticationInfo {
  qop?: string;
  rspauth?: string;
  cnonce?: string;
  nc?: string;
  nextnonce?: string;
  extra?: Record<string, string>;
}

/** One auth-param as found on the wire (RFC 7235 §2.1), for checks on quoting and order. */
export interface AuthParam {
  /** Lower-case name. */
  name: string;
  /** Name as written. */
  rawName: string;
  /** Unquoted, unescaped value. */
  value: string;
  /** Whether the value was a quoted-string. */
  quoted: boolean;
  /** Offset of the name in the header value. */
  position: number;
}

/** One challenge of any scheme (RFC 7235 §2.1: auth-scheme [ token68 / #auth-param ]). */
export interface AuthChallenge {
  scheme: string;
  position: number;
  token68?: string;
  params: AuthParam[];
}
