// Errors of lib/capture: one class per failure, each with a stable `code` (docs/architecture.md).

export class CaptureError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The capture file is not pcap/pcapng, or a block/record is truncated or inconsistent. */
export class CaptureFormatError extends CaptureError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('ERR_CAPTURE_FORMAT', `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** A frame's bytes could not be decoded as link/IP/UDP/TCP. */
export class PacketDecodeError extends CaptureError {
  readonly layer: string;
  constructor(layer: string, message: string) {
    super('ERR_PACKET_DECODE', `${layer}: ${message}`);
    this.layer = layer;
  }
}

/** A packet cannot be synthesized as requested (e.g. UDP payload larger than one IP datagram). */
export class PacketBuildError extends CaptureError {
  constructor(message: string) {
    super('ERR_PACKET_BUILD', message);
  }
}

/** Writing to a closed writer or recorder. */
export class CaptureClosedError extends CaptureError {
  constructor(what: string) {
    super('ERR_CAPTURE_CLOSED', `${what} is closed`);
  }
}

/** A capture backend cannot run here (not root, tcpdump missing, raw-socket not built). */
export class CaptureUnavailableError extends CaptureError {
  readonly backend: string;
  constructor(backend: string, message: string) {
    super('ERR_CAPTURE_UNAVAILABLE', `${backend} capture unavailable: ${message}`);
    this.backend = backend;
  }
}

/** A capture backend failed to start, prove it is recording, or stop. */
export class CaptureBackendError extends CaptureError {
  readonly backend: string;
  constructor(backend: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CAPTURE_BACKEND', `${backend} capture: ${message}`, options);
    this.backend = backend;
  }
}

/** Malformed HTTP/1.1 in a reassembled TCP stream (RFC 9112). Reported as an event, never thrown out of a reader. */
export class HttpParseError extends CaptureError {
  readonly streamOffset: number;
  constructor(message: string, streamOffset: number) {
    super('ERR_HTTP_PARSE', `${message} (stream offset ${streamOffset})`);
    this.streamOffset = streamOffset;
  }
}
