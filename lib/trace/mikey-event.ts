// MIKEY bytes -> the message and decode error fields of a MikeyEvent (lenient decode keeps the
// partial message and the offset where it stopped, for FAIL evidence).
import { decodeMikeyLenient } from '../mikey/index.ts';
import type { MikeyEvent } from './types.ts';

export function decodeMikeyFields(bytes: Buffer): Pick<MikeyEvent, 'message' | 'decodeError'> {
  try {
    const { message, error } = decodeMikeyLenient(bytes);
    if (!error) return { message };
    return { message, decodeError: { offset: error.offset, payload: error.payload, reason: error.reason } };
  } catch (e) {
    // decodeMikeyLenient only throws on codec bugs; the event must still be recorded
    return { decodeError: { offset: 0, payload: 'HDR', reason: `decoder failure: ${(e as Error).message}` } };
  }
}
