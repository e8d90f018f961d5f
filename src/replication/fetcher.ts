/**
 * The shipper on a secondary: pulls log files, in order, into local copies.
 *
 * For the current file it opens a stream from the file's origin host (or,
 * if that host is unreachable, from the designated primary) starting at the
 * local verified length, so an interrupted transfer resumes exactly where
 * it stopped. Every record is verified (CRC, sequence) before it is written;
 * written bytes become visible to the replayer only after an fdatasync
 * (and a new file's only once its directory entry is synced too).
 * When the stream ends with the file's version, the local copy must have
 * the same version: then the file is finished and the fetcher looks for the
 * next one, which it accepts only if its header continues our version of
 * the current file (the version chain). A next file that does not continue
 * our history means a split brain: fetching stops and says so.
 *
 * Memory is bounded: one frame at a time is decoded; the records written
 * but not yet synced (pipelined-writes.ts) are at most syncEveryBytes plus
 * a frame; and we do not read from the stream while syncing (the
 * transport's backpressure reaches the sender).
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { VersionEntry } from "../log/version.js";
import type { Metrics } from "../metrics/metrics.js";
import { PeerCallError, type PeerClient, type PeerCredentials } from "../peer/client.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import { LogCorruptError, OperatorError, errorMessage } from "../util/errors.js";
import { PeerProtocolError, readPeerErrorBody } from "../peer/error-codes.js";
import { currentSources, listNextAt, nextSources, sourceFor } from "./fetch-source.js";
import { openLogStream } from "./fetch-stream.js";
import { PipelinedWrites } from "./pipelined-writes.js";
import { FrameType } from "./frames.js";
import type { LocalLogs } from "./local-logs.js";
import { RecordVerifier } from "./record-verifier.js";

/** `connecting`: a stream request went to the source and its answer has not come yet. */
export type FetchState =
  "idle" | "connecting" | "fetching" | "waiting" | "paused" | "retrying" | "split-brain";

export interface FetchProgress {
  /** File being fetched (or waiting for its successor). */
  file: string;
  verifiedBytes: number;
  nextSeq: number;
  finished: boolean;
}

/** Longest a fetched byte waits for its fdatasync while more keeps arriving (replay sees it after). */
const SYNC_AFTER_MS = 100;

export interface FetcherDeps {
  resource: string;
  host: string;
  logs: LocalLogs;
  storage: Storage;
  /** Retry back-off, list waits, progress-save spacing. */
  time: Clock;
  client: PeerClient;
  credentials: () => PeerCredentials | undefined;
  /** Where a host's peer listener is, if it is a reachable member. */
  addressOf: (host: string) => string | undefined;
  designatedPrimary: () => string | undefined;
  /**
   * The other members known to have held log file number `fileNumber`
   * (from their published histories), in member order: where a node taking
   * over looks for files after its own last one, which no primary lists
   * for it any more; and for a file its origin no longer has. A history
   * says a member had the file, not that it still has it (it may have
   * deleted it since), so each is asked in turn.
   */
  holdersOf: (fileNumber: number) => string[];
  /** Persists progress (called at least at every file boundary). */
  saveProgress: (progress: FetchProgress) => Promise<void>;
  /** Called with the version of a file once it is complete here. */
  onFileComplete?: (file: string, version: VersionEntry) => void;
  metrics: Metrics;
  logger: Logger;
  /** fdatasync after this many unsynced bytes even while data keeps coming. */
  syncEveryBytes: number;
  listWaitMs: number;
  retryMaxMs: number;
  /** Waits until `bytes` more may be received (bandwidth limits; TCP then slows the sender). */
  throttle?: (bytes: number, signal: AbortSignal) => Promise<void>;
  /** Ask sources for compressed data (this node's compression setting for the resource). */
  acceptCompression?: () => boolean;
}

export interface FetcherEvents {
  state: [state: FetchState];
  /** The remote length of the current file moved (for lag). */
  remote: [file: string, lengthBytes: number];
}

export class Fetcher extends EventEmitter<FetcherEvents> {
  private stopped = false;
  private paused = false;
  private running: Promise<void> | undefined;
  private abort = new AbortController();
  private wake: (() => void) | undefined;
  private failures = 0;
  stateValue: FetchState = "idle";
  lastError: string | undefined;
  splitBrainReason: string | undefined;
  /** The newest length of the current file the source told us about. */
  remoteLengthBytes = 0;
  private progress: FetchProgress;
  /** The host of the stream request in progress, from its sending on (undefined between requests). */
  private streamSource: string | undefined;
  /** Settles when the fetch or list request in progress has ended (see pause()). */
  private busy: Promise<void> = Promise.resolve();
  /** The stream was cut because another host is to be followed: no failure, no back-off. */
  private switchingSource = false;

  constructor(
    private readonly deps: FetcherDeps,
    start: FetchProgress,
  ) {
    super();
    this.progress = { ...start };
  }

  get current(): FetchProgress {
    return { ...this.progress };
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /**
   * Stops fetching and resolves once the fetch in progress has ended: from
   * then on the local copy does not grow (an operator, or a test, that
   * pauses and then compares positions sees them hold still).
   */
  async pause(): Promise<void> {
    this.paused = true;
    this.abort.abort();
    await this.busy;
  }

  /** Fetches again (starting the loop if it was paused from the start). */
  resume(): void {
    this.paused = false;
    this.wake?.();
    this.start();
  }

  /** Resolves after `delayMs`, or sooner when woken (stop, unpause, retry). */
  private waitOrWake(delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer: TimerHandle = this.deps.time.setTimer(delayMs, resolve);
      this.wake = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  private setState(state: FetchState): void {
    if (this.stateValue !== state) {
      this.stateValue = state;
      this.emit("state", state);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        this.setState("paused");
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (this.stateValue === "split-brain") {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.abort = new AbortController();
      this.switchingSource = false;
      const work = this.progress.finished ? this.findNext() : this.fetchCurrent();
      this.busy = work.then(
        () => undefined,
        () => undefined,
      );
      try {
        await work;
        this.failures = 0;
        this.lastError = undefined;
      } catch (err) {
        if (this.stopped || this.paused) continue;
        if (this.switchingSource) {
          this.switchingSource = false;
          continue;
        }
        this.failures += 1;
        this.lastError = errorMessage(err);
        this.deps.metrics.replicationFetchErrors.labels(this.deps.resource).inc();
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.deps.logger.warn(
            { resource: this.deps.resource, file: this.progress.file, err: this.lastError },
            "fetch failed, retrying",
          );
        }
        this.setState("retrying");
        const delayMs = Math.min(this.deps.retryMaxMs, 100 * 2 ** Math.min(this.failures, 10));
        await this.waitOrWake(delayMs);
      }
    }
  }

  /**
   * The designated primary changed: a stream from a host that is no longer
   * the one to follow is cut at once (it would otherwise go on delivering
   * the old primary's writes), and fetching resumes from the right source.
   */
  reconsiderSource(): void {
    if (this.streamSource === undefined) return;
    if (currentSources(this.deps, this.progress.file).includes(this.streamSource)) return;
    this.switchingSource = true;
    this.abort.abort();
  }

  private credentials(): PeerCredentials {
    const c = this.deps.credentials();
    if (!c) throw new OperatorError("NOT_IN_CLUSTER", "this node is not in a cluster");
    return c;
  }

  private async fetchCurrent(): Promise<void> {
    const { deps } = this;
    const name = this.progress.file;
    const sources = currentSources(deps, name);
    if (sources.length === 0) throw new OperatorError("PEER_UNREACHABLE", `no reachable node holds ${name}`);
    // The signal ends the request in every phase (stop, pause and a source switch abort it);
    // an abort while the head is awaited would otherwise leave a stream that never ends.
    const signal = this.abort.signal;
    for (const [i, source] of sources.entries()) {
      // From the request on, not only once its answer streams: a frozen primary never answers,
      // and the failover that designates another one must cut the wait (reconsiderSource).
      this.streamSource = source;
      this.setState("connecting");
      try {
        const holder = source !== sourceFor(deps, name);
        await this.stream(name, source, deps.addressOf(source) as string, signal, holder);
        return;
      } catch (err) {
        // Only "I do not have it" moves on to the next source; any other failure is retried.
        if (!(err instanceof PeerCallError && err.code === "no-file") || i === sources.length - 1) throw err;
      } finally {
        this.streamSource = undefined;
      }
    }
  }

  /**
   * Streams `name` from `source`. `holder`: not the file's writer but a
   * member holding a copy (currentSources()): once it has nothing more to
   * send and its copy is not finished, we go back to the writer. Following
   * it would wait for ever if it follows us (simulator seed 930103: bravo,
   * taking over while alpha recovered, streamed from charlie, which
   * streamed from bravo).
   */
  private async stream(
    name: string,
    source: string,
    address: string,
    signal: AbortSignal,
    holder: boolean,
  ): Promise<void> {
    const { deps } = this;
    const local = deps.logs.get(name) ?? deps.logs.add(name, 0);
    let offset = local.lengthBytes;
    const verifier = new RecordVerifier(offset, this.progress.nextSeq);
    const { response, decoder } = await openLogStream(
      deps.client,
      this.credentials(),
      { host: source, address },
      {
        resource: deps.resource,
        file: name,
        offsetBytes: offset,
        acceptCompression: deps.acceptCompression?.() ?? false,
      },
      signal,
    );
    const file: RandomAccessFile = await deps.storage
      .open(local.path, "readwrite")
      .catch(async () => deps.storage.open(local.path, "create"));
    if (offset === 0) {
      // The file's name is durable before any of its records is visible to
      // the replayer: a power loss must not take away a file whose writes
      // reached the disk (simulator seed 870116: the disk had a torn write
      // from a file that was gone after the restart, and said consistent).
      await deps.storage.syncDirectory(deps.logs.dir).catch(async (err: unknown) => {
        await file.close();
        throw err;
      });
    }
    const writes = new PipelinedWrites(file);
    this.setState("fetching");
    let unsynced = 0;
    let lastSaveMs = deps.time.monotonicMs();
    let lastSyncMs = lastSaveMs;
    try {
      for await (const chunk of response.body) {
        deps.metrics.peerReceivedBytes.labels(source).inc(chunk.length);
        await deps.throttle?.(chunk.length, signal);
        for (const frame of decoder.push(chunk)) {
          if (frame.type === FrameType.Data) {
            if (frame.offsetBytes !== offset + verifier.pendingBytes) {
              throw new PeerProtocolError(
                `data for offset ${frame.offsetBytes} where ${offset + verifier.pendingBytes} was expected`,
              );
            }
            this.noteRemote(name, frame.valueBytes);
            const verified = verifier.push(frame.payload);
            if (verified.bytes.length > 0) {
              writes.issue(verified.bytes, verified.offsetBytes);
              offset += verified.bytes.length;
              unsynced += verified.bytes.length;
              deps.metrics.replicationFetchedBytes.labels(deps.resource).inc(verified.bytes.length);
            }
          } else if (frame.type === FrameType.Heartbeat) {
            if (holder) {
              throw new OperatorError(
                "PEER_UNREACHABLE",
                `${source} holds no more of ${name} and its copy is not finished: asking the writer again`,
              );
            }
            this.noteRemote(name, frame.valueBytes);
          } else if (frame.type === FrameType.End) {
            if (verifier.pendingBytes > 0 || offset !== frame.valueBytes) {
              throw new PeerProtocolError(
                `${name} ended at ${frame.valueBytes} but we hold ${offset} (+${verifier.pendingBytes} partial)`,
              );
            }
            await this.sync(file, writes, name, offset, verifier.nextSeq);
            unsynced = 0;
            const theirs = JSON.parse(frame.payload.toString("utf8")) as VersionEntry;
            const ours = await deps.logs.version(name);
            if (ours.version !== theirs.version) {
              throw new LogCorruptError(
                `${name}: our copy has version ${ours.version.slice(0, 12)}, ${source} says ${String(theirs.version).slice(0, 12)}`,
              );
            }
            this.progress = { file: name, verifiedBytes: offset, nextSeq: verifier.nextSeq, finished: true };
            await deps.saveProgress(this.progress);
            deps.logs.markFinished(name);
            deps.onFileComplete?.(name, ours);
            return;
          } else {
            const err = readPeerErrorBody(JSON.parse(frame.payload.toString("utf8")), "");
            if (err.code === "ahead") {
              this.splitBrainReason = `we hold more of ${name} than ${source}: ${err.message}`;
              deps.logger.error(
                { resource: deps.resource, reason: this.splitBrainReason },
                "histories diverged: not fetching further",
              );
              this.setState("split-brain");
              return;
            }
            throw new PeerCallError(200, err.code, `${source}: ${err.message || "stream error"}`);
          }
        }
        // Synced (visible to the replayer) every syncEveryBytes while a
        // backlog streams in, and at once when we hold everything the
        // source had made durable (a caught-up member replays with no
        // delay), or after SYNC_AFTER_MS of a slow trickle. Syncing whenever
        // the socket's buffer ran empty cost an fdatasync per ~1 MiB frame
        // on a fast stream: half of a catch-up's time on loopback.
        const caughtUp = offset + verifier.pendingBytes >= this.remoteLengthBytes;
        if (
          unsynced > 0 &&
          (unsynced >= deps.syncEveryBytes ||
            (caughtUp && response.body.bufferedBytes === 0) ||
            deps.time.monotonicMs() - lastSyncMs >= SYNC_AFTER_MS)
        ) {
          await this.sync(file, writes, name, offset, verifier.nextSeq);
          lastSyncMs = deps.time.monotonicMs();
          unsynced = 0;
          if (deps.time.monotonicMs() - lastSaveMs > 2000) {
            lastSaveMs = deps.time.monotonicMs();
            await deps.saveProgress(this.progress);
          }
        }
      }
      if (unsynced > 0) await this.sync(file, writes, name, offset, verifier.nextSeq);
      if (!signal.aborted) throw new PeerProtocolError(`stream of ${name} from ${source} ended early`);
    } finally {
      await writes.settle().catch(() => undefined);
      await file.close();
      await deps.saveProgress(this.progress).catch(() => undefined);
    }
  }

  private async sync(
    file: RandomAccessFile,
    writes: PipelinedWrites,
    name: string,
    offset: number,
    nextSeq: number,
  ): Promise<void> {
    await writes.settle();
    await file.datasync();
    this.progress = { file: name, verifiedBytes: offset, nextSeq, finished: false };
    this.deps.logs.grow(name, offset);
  }

  private noteRemote(name: string, lengthBytes: number): void {
    if (lengthBytes !== this.remoteLengthBytes) {
      this.remoteLengthBytes = lengthBytes;
      this.emit("remote", name, lengthBytes);
    }
  }

  /** Looks for the file after the current one and starts it, if it continues our history (fetch-source.ts). */
  private async findNext(): Promise<void> {
    const { deps } = this;
    const current = this.progress.file;
    const sources = nextSources(deps, current);
    if (sources.length === 0) {
      // Nothing to follow (no other primary, no reachable origin): wait until that changes.
      this.setState("waiting");
      await this.waitOrWake(deps.listWaitMs);
      return;
    }
    this.setState("waiting");
    const askedMs = deps.time.monotonicMs();
    const found = await listNextAt(deps, this.credentials(), sources, current);
    if (found === undefined) {
      // Not listed, maybe before listWaitMs: at most one list per listWaitMs (seed 90284's tight loop).
      const leftMs = deps.listWaitMs - (deps.time.monotonicMs() - askedMs);
      if (leftMs > 0 && !this.stopped && !this.paused) await this.waitOrWake(leftMs);
      return;
    }
    if ("brokenChain" in found) {
      this.splitBrainReason = found.brokenChain;
      deps.logger.error(
        { resource: deps.resource, reason: this.splitBrainReason },
        "version chain broken: not fetching further",
      );
      this.setState("split-brain");
      return;
    }
    deps.logs.add(found.next.name, 0);
    this.progress = { file: found.next.name, verifiedBytes: 0, nextSeq: 0, finished: false };
    this.remoteLengthBytes = 0;
    await deps.saveProgress(this.progress);
  }

  /** Re-checks the chain after an operator action (e.g. after a split brain was resolved elsewhere). */
  retry(): void {
    if (this.stateValue === "split-brain") {
      this.splitBrainReason = undefined;
      this.setState("idle");
    }
    this.wake?.();
  }
}
