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
 * Time the tester may lose in a window without it counting: below this, lost time is scheduling noise.
 * More lost means the tester's process was not running (a loaded host, a long GC): it observed nothing
 * meanwhile, and an in-process SUT (the embedded references) was frozen with it. Upper-bound windows ("the
 * SUT sends X within W") give that time back (windowClock), up to one more window, so the tester's own
 * stalls are never blamed on the SUT; silence windows (lower bounds) never do.
 */
export const STALL_MS = 20;

/** One turn of the event loop: I/O already pending (a datagram in the socket) is read before this resolves. */
export const ioTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * What the tester's own process got of the host during a window: wall time, CPU time of the process, and
 * the event-loop lag (the ticks' delay past their period, summed, and the longest single stall). Lag is
 * time in which the tester could neither read a datagram nor fire a timer: the host did not run it (load),
 * or its own work held the loop. CPU against wall says which of the two it was.
 */
export interface StarvationFigures {
  wallMs: number;
  cpuMs: number;
  lagMs: number;
  longestStallMs: number;
}

/** Measures the tester's starvation from now on (read() any number of times). */
export function starvationMeter(): { read: () => StarvationFigures } {
  startLoopMonitor();
  const since = epochMs();
  const cpu = process.cpuUsage();
  return {
    read: () => {
      const now = epochMs();
      const used = process.cpuUsage(cpu);
      const { lagMs, longestStallMs } = lagBetween(since, now);
      return { wallMs: now - since, cpuMs: (used.user + used.system) / 1000, lagMs, longestStallMs };
    },
  };
}

/** The tester's lag between two epoch times (trace event times): how long its process was held meanwhile. */
export function lagDuring(from: number, to: number): number {
  return lagBetween(from, to).lagMs;
}

/**
 * Event-loop lag between two epoch times: each gap between consecutive ticks beyond the tick period, once
 * it is a stall (a whole period missed); timer jitter below that (about half a millisecond a tick on an
 * idle host) would add up to a tenth of any window without the tester ever being held.
 */
function lagBetween(from: number, to: number): { lagMs: number; longestStallMs: number } {
  let lagMs = 0;
  let longestStallMs = 0;
  const add = (gap: number): void => {
    const late = gap - TICK_MS;
    if (late <= TICK_MS) return;
    lagMs += late;
    longestStallMs = Math.max(longestStallMs, late);
  };
  const oldest = Math.max(0, count - SIZE);
  let later = to; // walking back from `to`: the gap from the last tick to `to` counts too
  for (let i = count - 1; i >= oldest; i--) {
    const t = ticks[i % SIZE]!;
    if (t > to) continue;
    if (t <= from) { add(later - from); return { lagMs, longestStallMs }; }
    add(later - t);
    later = t;
  }
  // The history does not reach back to `from`: count the unseen span as lag (never understated).
  add(later - from + TICK_MS);
  return { lagMs, longestStallMs };
}

/**
 * Whether the SUT had the whole window in time the tester was running (wall time minus the tester's lag,
 * within STALL_MS). If not, the tester (and an embedded SUT with it) lost enough of the window that "too
 * late" may be the host's doing: a missed deadline is then INCONC, not FAIL.
 */
export function hadWholeWindow(f: StarvationFigures, windowMs: number): boolean {
  return f.wallMs - f.lagMs >= windowMs - STALL_MS;
}

/** The figures in words, for a finding's evidence. */
export function describeStarvation(f: StarvationFigures): string {
  const r = (n: number) => Math.round(n);
  return `event loop ${r(f.lagMs)} ms behind in total (longest stall ${r(f.longestStallMs)} ms), process CPU ${r(f.cpuMs)} ms in ${r(f.wallMs)} ms wall`;
}

/**
 * The clock of a window in which the SUT must do something: the SUT gets the whole window in time the
 * tester was running. At the deadline, extend() gives back what the tester lost since the window opened
 * (its event-loop lag, which also froze an embedded SUT) beyond what it already gave back, up to one more
 * window in all; it returns the milliseconds given back, 0 when the window is over.
 */
export function windowClock(windowMs: number): { meter: ReturnType<typeof starvationMeter>; remaining: () => number; extend: () => number } {
  const meter = starvationMeter();
  let deadline = performance.now() + windowMs;
  let givenBack = 0;
  return {
    meter,
    remaining: () => deadline - performance.now(),
    extend: () => {
      const owed = Math.min(meter.read().lagMs - givenBack, windowMs - givenBack);
      if (owed <= STALL_MS) return 0;
      givenBack += owed;
      deadline = performance.now() + owed;
      return owed;
    },
  };
}
