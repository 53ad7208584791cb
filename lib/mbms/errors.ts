// Errors of the lib/mbms layer: one class per failure, each with a stable `code` (docs/architecture.md).

/** A profile file (YAML or JSON) that cannot be read, parsed or validated against profile.schema.json. */
export class ProfileError extends Error {
  readonly code = 'ERR_PROFILE';
  /** Path of the profile file (or '<object>' when validating an in-memory value). */
  readonly file: string;
  /** 1-based line and column of the offending node, when known. */
  readonly line?: number;
  readonly column?: number;
  /** Dotted path of the offending field, e.g. 'http.qop' or 'timers.ackMs' ('' = the document itself). */
  readonly field: string;
  readonly reason: string;

  constructor(args: { file: string; field: string; reason: string; line?: number; column?: number }) {
    const where = args.line === undefined ? args.file : `${args.file}:${args.line}:${args.column ?? 1}`;
    super(`${where}: ${args.field === '' ? '(document)' : args.field}: ${args.reason}`);
    this.name = 'ProfileError';
    this.file = args.file;
    this.line = args.line;
    this.column = args.column;
    this.field = args.field;
    this.reason = args.reason;
  }
}

/** An MSK request/response body that is not well-formed XML or lacks / mis-encodes a field (protocol §2.3, §2.4). */
export class MbmsBodyError extends Error {
  readonly code = 'ERR_MBMS_BODY';
  readonly reason: string;
  constructor(reason: string) {
    super(`MBMS body: ${reason}`);
    this.name = 'MbmsBodyError';
    this.reason = reason;
  }
}

/** A key identifier (Key Domain ID, MSK ID, MTK ID, MKI) outside its layout (protocol §4.2, §6.2). */
export class KeyIdError extends Error {
  readonly code = 'ERR_MBMS_KEY_ID';
  readonly reason: string;
  constructor(reason: string) {
    super(`MBMS key ID: ${reason}`);
    this.name = 'KeyIdError';
    this.reason = reason;
  }
}
