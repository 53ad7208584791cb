// Errors of lib/reference: one class per failure, each with a stable `code` (docs/architecture.md).

/** A reference configuration (file, command line or control API body) is invalid. */
export class ReferenceConfigError extends Error {
  readonly code = 'ERR_REFERENCE_CONFIG';
  /** The file the configuration came from, when there is one. */
  readonly file?: string;
  /** Dotted path of the offending field, e.g. `users[0].ksNaf`. */
  readonly field?: string;
  constructor(message: string, where: { file?: string; field?: string } = {}) {
    const place = [where.file, where.field].filter(Boolean).join(': ');
    super(place ? `${place}: ${message}` : message);
    this.name = 'ReferenceConfigError';
    this.file = where.file;
    this.field = where.field;
  }
}

/** A fault name that the role's fault table does not define. */
export class UnknownFaultError extends Error {
  readonly code = 'ERR_REFERENCE_FAULT';
  readonly fault: string;
  readonly role: string;
  constructor(fault: string, role: string, known: readonly string[]) {
    super(`unknown ${role} fault '${fault}' (known: ${known.join(', ')})`);
    this.name = 'UnknownFaultError';
    this.fault = fault;
    this.role = role;
  }
}

/** The persistent state file cannot be read, parsed or written. */
export class ReferenceStateError extends Error {
  readonly code = 'ERR_REFERENCE_STATE';
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.name = 'ReferenceStateError';
    this.path = path;
  }
}

/**
 * A control API request that cannot be served. `status` is the HTTP status the control server answers
 * with (4xx for the caller's mistakes); the body is `{ "error": { "code", "message" } }`.
 */
export class ControlApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ControlApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A reference server could not bind one of its sockets (EADDRINUSE, EACCES, ...). */
export class ReferenceListenError extends Error {
  readonly code = 'ERR_REFERENCE_LISTEN';
  /** The system error code (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...). */
  readonly systemCode: string;
  readonly socket: string;
  readonly address: string;
  readonly port: number;
  constructor(socket: string, address: string, port: number, systemCode: string, options?: { cause?: unknown }) {
    const why = systemCode === 'EADDRINUSE' ? 'address already in use' : systemCode;
    super(`cannot listen for ${socket} on ${address}:${port}: ${why}`, options);
    this.name = 'ReferenceListenError';
    this.socket = socket;
    this.address = address;
    this.port = port;
    this.systemCode = systemCode;
  }
}
