// Public API of lib/capture (docs/architecture.md).
export * from './errors.ts';
export { type Endpoint, LinkType, addressToBytes, bytesToAddress, formatEndpoint, internetChecksum, normalizeAddress } from './inet.ts';
export { PcapWriter, type PcapWriterOptions, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS } from './pcap-writer.ts';
export { TcpFlags, ethernetFrame, ipPacket, tcpSegment, udpDatagram } from './build.ts';
export { TapRecorder, type TapRecorderOptions, type TapTcpConnection, DEFAULT_MIKEY_PORT, decodeAsArguments, epochMs } from './tap.ts';
