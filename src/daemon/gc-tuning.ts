/**
 * V8 garbage-collector settings for the daemon, applied before it serves IO.
 *
 * Why: marsd's heap is small (tens of MiB) but it moves hundreds of MiB/s
 * through Buffers, whose memory lives outside the heap. After a phase of
 * large writes (1 MiB requests) V8 was measured to start incremental
 * marking again and again with the heap far below its limit: ~30-60 major
 * GCs per second, four helper threads busy marking, and 4 KiB durable
 * writes falling from ~3,000 to ~600-1,200 IOPS until the daemon was
 * restarted (bench/nbd-vs-nbdkit.ts, fsync=1 rows after the 1M row).
 * Without incremental marking V8 collects the old generation in one
 * stop-the-world pass when its limit is reached; on a heap this small that
 * pass was measured at 10-15 ms, once every few seconds under load, instead
 * of dozens of marking cycles a second. The price is that pause, which a
 * client can see as a latency spike (docs/performance.md).
 */
import v8 from "node:v8";

const DAEMON_V8_FLAGS = ["--no-incremental-marking"];

export function applyGcTuning(): void {
  for (const flag of DAEMON_V8_FLAGS) v8.setFlagsFromString(flag);
}
