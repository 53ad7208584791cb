// What the parts of the reference BM-SC share (bmsc.ts builds it): configuration, profiles, the fault hooks,
// the provisioned users, the key state and the MIKEY socket. Each part (msk-request.ts, deliveries.ts,
// mtk-update.ts) holds one concern of TS 33.246 clause 6.3 and reaches the others only through this.
import type { MbmsProfile } from '../../mbms/index.ts';
import type { MikeyProfile } from '../../mikey/index.ts';
import type { Endpoint } from '../common/index.ts';
import type { BmscUser, ReferenceBmscConfig } from './config.ts';
import type { ReferenceBmscEvents } from './events.ts';
import type { BmscFaultHooks } from './faults.ts';
import type { BmscState } from './state.ts';

export interface UserRecord {
  user: BmscUser;
  /** Source address of the user's last MSK request (used when no ueAddress is configured). */
  lastAddress?: string;
  /** CSB ID of MSK messages when profile O10 says 'fixed-per-muk'. */
  fixedCsbId?: number;
}

export interface BmscContext {
  readonly config: ReferenceBmscConfig;
  readonly profile: MbmsProfile;
  readonly mikeyProfile: MikeyProfile;
  readonly hooks: BmscFaultHooks;
  readonly users: Map<string, UserRecord>;
  /** The key state (after start). */
  state(): BmscState;
  emit<K extends keyof ReferenceBmscEvents>(event: K, ...args: ReferenceBmscEvents[K]): boolean;
  /** Wall clock of nonce expiry (tests replace it). */
  clock(): number;
  /** Where MIKEY goes for a user: configured address, else the source of its last MSK request (O17). */
  mikeyTarget(btid: string): Endpoint | undefined;
  /** The bound MIKEY endpoint (the configured one before start). */
  mikeyEndpoint(): Endpoint;
  /** Sends one datagram from the MIKEY socket; rejects when the BM-SC is stopped. */
  send(bytes: Buffer, to: Endpoint): Promise<void>;
  /** True while the MIKEY socket is open. */
  running(): boolean;
}

export { now } from '../common/index.ts';
export const hex = (b: Buffer): string => b.toString('hex');
export const hex32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** The key groups a user is subscribed to. */
export function subscribedGroups(user: BmscUser): { keyDomainId: Buffer; keyGroup: number }[] {
  return user.subscriptions.flatMap((s) => s.keyGroups.map((keyGroup) => ({ keyDomainId: s.keyDomainId, keyGroup })));
}

/** True when the user is subscribed to the key group of `keyDomainId`. */
export function isSubscribed(user: BmscUser, keyDomainId: Buffer, keyGroup: number): boolean {
  return user.subscriptions.some((s) => s.keyDomainId.equals(keyDomainId) && s.keyGroups.includes(keyGroup));
}
