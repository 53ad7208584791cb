// How late the tester may have read what it received. The tester timestamps a datagram when its socket
// handler runs, which is later than the arrival when the process was not running (a loaded host, a long
// synchronous step of another case in the same worker). A lower bound judged on those timestamps (O18:
// retransmissions at least half an interval apart) must not turn the tester's own delay into a SUT's
// fault, so the monitor records when the event loop was last free and bounds that read delay.
//
// A tick every TICK_MS records the time (epoch ms, the clock of trace events). A datagram read at time t
// was not in the socket when the loop polled in an earlier turn, and every tick is followed by a poll in
// its turn; so it arrived after the second-to-last tick before t (the last one may share t's turn).

const TICK_MS = 5;
/** Epoch milliseconds, the clock of trace events. */
const epochMs = () => performance.timeOrigin + performance.now();
const SIZE = 8192; // ~40 s of ticks: longer than any window that waits for a retransmission

const ticks = new Float64Array(SIZE);
let count = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Starts the monitor of this process (idempotent; never keeps the process alive). */
export function startLoopMonitor(): void {
  if (timer) return;
  const tick = () => { ticks[count % SIZE] = epochMs(); count++; };
  tick();
  timer = setInterval(tick, TICK_MS);
  timer.unref();
}

/**
 * Upper bound (ms) on how much earlier than `time` an event read at `time` may have arrived; Infinity when
 * the monitor holds no two ticks before it (not started yet, or the history no longer reaches back).
 */
export function readDelayBound(time: number): number {
  const oldest = Math.max(0, count - SIZE);
  let seen = 0;
  for (let i = count - 1; i >= oldest; i--) {
    const t = ticks[i % SIZE]!;
    if (t > time) continue;
    if (++seen === 2) return time - t;
  }
  return Infinity;
}

/**
 * A window's timer that fires more than this late means the tester's process was not running (a loaded
 * host, a long GC): it observed nothing meanwhile, and an in-process SUT (the embedded references) was
 * frozen with it. Upper-bound windows ("the SUT sends X within W") give that time back once, up to one more
 * window, so the tester's own stalls are never blamed on the SUT; silence windows (lower bounds) never do.
 */
export const STALL_MS = 20;

/** One turn of the event loop: I/O already pending (a datagram in the socket) is read before this resolves. */
export const ioTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
