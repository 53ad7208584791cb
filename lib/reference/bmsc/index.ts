// Public API of the reference BM-SC.
export { ReferenceBmsc } from './bmsc.ts';
export type {
  BmscEndpoints, MikeySent, MikeyKind, ReferenceBmscEvents, BmscHttpRequestEvent, BmscHttpResponseEvent,
  BmscMikeyOutEvent, BmscAckInEvent, BmscAckRejectedEvent, BmscAckTimeoutEvent,
} from './bmsc.ts';
export { BMSC_FAULTS } from './faults.ts';
export {
  resolveBmscConfig, loadBmscConfig, parseUser,
  type ReferenceBmscConfig, type ReferenceBmscOptions, type BmscUser, type BmscSubscription, type BmscService,
  type LoadBmscConfigOverrides, type UserInput, type SubscriptionInput,
} from './config.ts';
export { BmscState, mukCounterName, mskCounterName, type Msk, type BmscStateOptions } from './state.ts';
