// Errors of lib/trace: one class per failure, each with a stable `code`.

export class TraceError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A wait was abandoned through its AbortSignal (a timeout is not an error: waitFor resolves undefined). */
export class TraceWaitAbortedError extends TraceError {
  constructor(reason?: unknown) {
    super('ERR_TRACE_ABORTED', `wait aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, { cause: reason });
  }
}

/** A live recording call on a closed LiveTrace or TCP connection. */
export class TraceClosedError extends TraceError {
  constructor(what: string) {
    super('ERR_TRACE_CLOSED', `${what} is closed`);
  }
}

/** A capture file could not be turned into a trace. */
export class TraceCaptureError extends TraceError {
  constructor(path: string, cause: unknown) {
    super('ERR_TRACE_CAPTURE', `cannot build a trace from ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
