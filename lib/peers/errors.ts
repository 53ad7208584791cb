// Errors of lib/peers (the tester's UE and BM-SC emulators): one class per failure, stable codes.

/** A tester socket could not be bound (address not configured, port taken): a harness fault. */
export class PeerBindError extends Error {
  readonly code = 'ERR_PEER_BIND';
  constructor(readonly what: string, readonly address: string, readonly port: number, options?: { cause?: unknown }) {
    super(`cannot bind the tester ${what} socket to ${address}:${port}: ${(options?.cause as Error | undefined)?.message ?? 'unknown error'}`, options);
    this.name = 'PeerBindError';
  }
}

/** The tester peer was used after close(). */
export class PeerClosedError extends Error {
  readonly code = 'ERR_PEER_CLOSED';
  constructor(what: string) {
    super(`tester ${what} is closed`);
    this.name = 'PeerClosedError';
  }
}

/** A bad argument to a peer (a header value with CR/LF, ...): a harness fault. */
export class PeerArgumentError extends Error {
  readonly code = 'ERR_PEER_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'PeerArgumentError';
  }
}
