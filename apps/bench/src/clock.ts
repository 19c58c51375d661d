/**
 * Microseconds on the system's monotonic clock. Every process and thread of one machine
 * reads the same clock, so a timestamp written by a publisher in one worker can be
 * subtracted from the time a subscriber in another worker (or process) received it.
 */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
