// Errors of the HTTP Digest layer (RFC 2617 / RFC 7616). One class per failure, each with a stable `code`.

/** A header value does not follow the RFC 7235 / RFC 7616 §3.3-3.5 grammar, or a required directive is missing. */
export class DigestParseError extends Error {
  readonly code = 'ERR_DIGEST_PARSE';
  /** 0-based character offset into the parsed header value where the problem was found. */
  readonly position: number;
  /** Directive (lower-case name) being parsed when the problem was found, if any. */
  readonly directive?: string;
  /** The reason without position/directive decoration. */
  readonly reason: string;

  constructor(reason: string, position: number, directive?: string) {
    super(`${reason} at position ${position}${directive ? ` (directive "${directive}")` : ''}`);
    this.name = 'DigestParseError';
    this.reason = reason;
    this.position = position;
    this.directive = directive;
  }
}

/** An algorithm name that RFC 7616 §3.3 / RFC 2617 §3.2.1 does not define (the client ignores such challenges). */
export class DigestAlgorithmError extends Error {
  readonly code = 'ERR_DIGEST_ALGORITHM';
  readonly algorithm: string;
  constructor(algorithm: string) {
    super(`unsupported digest algorithm "${algorithm}"`);
    this.name = 'DigestAlgorithmError';
    this.algorithm = algorithm;
  }
}

/** The client cannot answer: no usable challenge, or no nonce known for a request. */
export class DigestClientError extends Error {
  readonly code = 'ERR_DIGEST_CLIENT';
  constructor(message: string) {
    super(message);
    this.name = 'DigestClientError';
  }
}

/** Inputs to a digest computation are inconsistent (e.g. qop without cnonce/nc). */
export class DigestInputError extends Error {
  readonly code = 'ERR_DIGEST_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'DigestInputError';
  }
}
