// Public API of lib/peers: the tester's UE and BM-SC emulators that drive a SUT, every socket recorded
// through lib/trace's LiveTrace (pcap per case).
export { PeerBindError, PeerClosedError, PeerArgumentError } from './errors.ts';
export { serializeRequest, serializeResponse } from './http-wire.ts';
export { RecordedUdpSocket } from './udp.ts';
export { TesterUe, type TesterUeOptions, type UeIdentity, type HttpExchange } from './tester-ue.ts';
export {
  TesterBmsc, type TesterBmscOptions, type TesterBmscSut, type PendingRequest, type HttpAnswer,
  type ChallengeOptions, type OkOptions, type OkAnswer, type IssuedNonce,
} from './tester-bmsc.ts';
export {
  BmscMikeyComposer, MIKEY_CORRUPTIONS, UNKNOWN_KEY_DOMAIN, UNKNOWN_KEY_GROUP,
  type ComposeRequest, type ComposedMikey, type TesterMsk, type CounterChoice, type MikeyCorruption,
} from './tester-bmsc-mikey.ts';
