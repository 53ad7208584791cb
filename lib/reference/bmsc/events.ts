// Events and control-API records of the reference BM-SC: what it emits for every HTTP exchange and MIKEY
// message (the suite's evidence and the run log), and how the control API reports a message sent.
import type { Endpoint } from '../common/index.ts';

export interface BmscHttpRequestEvent {
  time: number; id: number; remote: Endpoint; local: Endpoint;
  method: string; target: string; headers: [string, string][]; body: Buffer;
}
export interface BmscHttpResponseEvent {
  time: number; requestId: number; remote: Endpoint; status: number; headers: [string, string][]; body: Buffer;
  /** How the request was judged: Digest outcome ('ok', 'missing', 'stale', ...) or the body/route problem. */
  outcome: string; btid?: string;
}
export type MikeyKind = 'msk' | 'trigger' | 'mtk';
export interface BmscMikeyOutEvent {
  time: number; kind: MikeyKind; btid?: string; from: Endpoint; to: Endpoint; bytes: Buffer;
  keyDomainId: Buffer; mskId: number; mtkId?: number; csbId: number; counter: number; v: boolean;
  /** 1 = first transmission, 2.. = retransmissions. */
  attempt: number;
  /** Delivery this message belongs to (retransmissions share it). */
  deliveryId?: number;
  /** Active faults that changed this message. */
  faults: string[];
}
export interface BmscAckInEvent {
  time: number; from: Endpoint; bytes: Buffer; btid: string; csbId: number; counter: number; deliveryId: number;
  /** The ACK's V MAC did not verify but bmsc-accept-bad-ack took it anyway. */
  macValid: boolean;
}
export interface BmscAckRejectedEvent {
  time: number; from: Endpoint; bytes: Buffer; reason: string; csbId?: number; counter?: number; deliveryId?: number;
}
export interface BmscAckTimeoutEvent { time: number; deliveryId: number; btid: string; attempts: number }

export interface ReferenceBmscEvents {
  'http-request': [BmscHttpRequestEvent];
  'http-response': [BmscHttpResponseEvent];
  'mikey-out': [BmscMikeyOutEvent];
  'ack-in': [BmscAckInEvent];
  'ack-rejected': [BmscAckRejectedEvent];
  /** A delivery with V=1 gave up: retransmissions exhausted without a valid ACK. */
  'ack-timeout': [BmscAckTimeoutEvent];
  /** Socket-level trouble that does not stop the BM-SC (send failure, ...). */
  'warning': [{ time: number; message: string }];
}

/** One MIKEY message as the control API reports it (control-api.schema.json MikeySent). */
export interface MikeySent {
  kind: MikeyKind; btid?: string; to: Endpoint; keyDomainId: string; mskId: string; mtkId?: string;
  csbId: string; counter: number; v: boolean; attempt: number; length: number;
}

/** Bound endpoints of a started BM-SC. */
export interface BmscEndpoints { http: Endpoint; mikey: Endpoint; control: Endpoint }
