// Evidence as packets (`mbms-conform load --capture FILE`): the run is captured on the loopback beside the
// load, and for each piece of evidence the packets of its UE around the failure are cut into a pcap file of
// their own, which a lab opens in Wireshark beside the report. A UE has an address of its own
// (population.ts), so its packets are the frames to or from that address; the evidence says when the failure
// was seen (wall clock, the capture's clock too). The capture is read as a stream (lib/capture read.ts):
// memory stays flat whatever its size.
import { readCapture } from '../capture/read.ts';
import { decodeFrame } from '../capture/decode.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { createCapture, type CaptureBackend } from '../capture/backends.ts';
import type { MbmsProfile } from '../mbms/index.ts';
import { ackCrossingMs } from '../suite/verify/history.ts';
import { copyWatchMs } from './ue-keys.ts';
import type { Evidence } from './stats.ts';

/** The population's addresses (127.64.0.0 + index, population.ts): every UE's HTTP and MIKEY traffic. */
export const POPULATION_FILTER = 'net 127.64.0.0/10';

/** A tcpdump capture of the population's traffic on the loopback, written to `path`. */
export function loadCapture(path: string): CaptureBackend {
  return createCapture('tcpdump', { path, iface: 'lo', filter: POPULATION_FILTER });
}

/**
 * How far around a failure its UE's packets are kept: before, the procedure that led to it (two HTTP
 * exchanges, each up to the HTTP time-out) and the watch for copies after an ACK; after, the copies that
 * may still cross an ACK.
 */
export function evidenceWindow(profile: MbmsProfile): { beforeMs: number; afterMs: number } {
  return { beforeMs: 2 * profile.timers.httpMs + copyWatchMs(profile), afterMs: ackCrossingMs(profile) };
}

/**
 * Cuts, for each evidence item with an address and a time, the frames to or from that address within the
 * window into `<capture base>-evidence-<n>.pcap`, and names that file in the item (`pcap`). Returns the
 * number of files written (an item whose UE sent and received nothing in the window gets none).
 */
export async function cutEvidencePcaps(capture: string, evidence: Evidence[], window: { beforeMs: number; afterMs: number }): Promise<number> {
  const wanted = evidence.flatMap((e, i) => (e.address && e.at ? [{ i, address: e.address, from: e.at - window.beforeMs, to: e.at + window.afterMs }] : []));
  if (wanted.length === 0) return 0;
  const base = capture.replace(/\.pcap$/, '');
  const writers = new Map<number, PcapWriter>();
  try {
    for await (const frame of readCapture(capture)) {
      const ip = decodeFrame(frame).ip;
      if (!ip) continue;
      for (const w of wanted) {
        if (frame.time < w.from || frame.time > w.to || (ip.src !== w.address && ip.dst !== w.address)) continue;
        let writer = writers.get(w.i);
        if (!writer) writers.set(w.i, (writer = new PcapWriter(`${base}-evidence-${w.i + 1}.pcap`, { linkType: frame.linkType })));
        writer.write(frame.data, frame.time, frame.originalLength);
      }
    }
  } finally {
    for (const [i, writer] of writers) {
      writer.close();
      evidence[i]!.pcap = writer.path;
    }
  }
  return writers.size;
}
