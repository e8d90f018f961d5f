/**
 * V8 garbage-collector settings for the daemon, given to node when the
 * process starts (the shebang of main.ts, the systemd unit, scripts/demo.sh,
 * the tests' DaemonProcess): `node --no-incremental-marking main.js`.
 *
 * Why the setting: marsd's heap is small (tens of MiB) but it moves hundreds
 * of MiB/s through Buffers, whose memory lives outside the heap. After a
 * phase of large writes (1 MiB requests) V8 was measured to start
 * incremental marking again and again with the heap far below its limit:
 * ~30-60 major GCs per second, four helper threads busy marking, and 4 KiB
 * durable writes falling from ~3,000 to ~600-1,200 IOPS until the daemon
 * was restarted (bench/nbd-vs-nbdkit.ts, fsync=1 rows after the 1M row).
 * Without incremental marking V8 collects the old generation in one
 * stop-the-world pass when its limit is reached; on a heap this small that
 * pass was measured at 10-15 ms, once every few seconds under load. The
 * price is that pause, which a client can see as a latency spike
 * (docs/performance.md).
 *
 * Why at start and never at run time: the flag used to be set with
 * v8.setFlagsFromString() once the daemon ran. Node documents that as
 * unsafe, and it was: when a marking cycle had begun during start-up, the
 * collector crashed the daemon (SIGSEGV or a V8 check failure in
 * ConcurrentMarking, a few times in a hundred kill -9 restarts).
 */
/** The node options the daemon expects to be started with. */
export const DAEMON_NODE_FLAGS = ["--no-incremental-marking"];
/** The expected flags the process was not started with (they are never set at run time). */
export function missingGcFlags(execArgv = process.execArgv) {
    return DAEMON_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
//# sourceMappingURL=gc-tuning.js.map