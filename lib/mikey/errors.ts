// Errors of the MIKEY layer (RFC 3830, RFC 4563, TS 33.246 profile): one class per failure, stable codes.

/** A MIKEY message that cannot be parsed (strict rules of protocol §4 / §6.3). */
export class MikeyDecodeError extends Error {
  readonly code = 'ERR_MIKEY_DECODE';
  /** Byte offset in the message (or in the key-data plaintext for key-data errors) where the problem lies. */
  readonly offset: number;
  /** Payload being decoded: 'HDR', 'EXT', ..., 'KEY-DATA', or 'trailing' / 'chain'. */
  readonly payload: string;
  readonly reason: string;
  constructor(offset: number, payload: string, reason: string) {
    super(`MIKEY decode error at offset ${offset} (${payload}): ${reason}`);
    this.name = 'MikeyDecodeError';
    this.offset = offset;
    this.payload = payload;
    this.reason = reason;
  }
}

/** A message tree that cannot be encoded (value out of range, MAC requested without a key, ...). */
export class MikeyEncodeError extends Error {
  readonly code = 'ERR_MIKEY_ENCODE';
  readonly payload: string;
  readonly field: string;
  constructor(payload: string, field: string, reason: string) {
    super(`MIKEY encode error in ${payload}.${field}: ${reason}`);
    this.name = 'MikeyEncodeError';
    this.payload = payload;
    this.field = field;
  }
}

/** Bad input to a crypto primitive (key length, salt length, ...). */
export class MikeyCryptoError extends Error {
  readonly code = 'ERR_MIKEY_CRYPTO';
  constructor(message: string) {
    super(message);
    this.name = 'MikeyCryptoError';
  }
}

/** A 33.246 message builder or reader was given inputs that contradict the profile. */
export class MikeyProfileError extends Error {
  readonly code = 'ERR_MIKEY_PROFILE';
  constructor(message: string) {
    super(message);
    this.name = 'MikeyProfileError';
  }
}
