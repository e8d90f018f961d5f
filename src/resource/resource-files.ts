/**
 * Small per-resource state files next to the log (each replaced
 * atomically): the progress of a full sync, of fetching, and which
 * activities the operator paused. They make a restarted node resume
 * exactly where it was, without any command. A crash while one is being
 * replaced leaves its previous content: a full sync then copies again from
 * the last saved doneBytes (never from 0), a fetch resumes at the last
 * saved verified length (the local copy is re-scanned from there).
 */
import path from "node:path";
import type { LogPosition } from "../log/log-stream.js";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { Storage } from "../platform/storage/types.js";

export interface SyncFile {
  /** "done" for the resource's creator and after a completed sync. */
  state: "syncing" | "done";
  doneBytes: number;
  totalBytes: number;
  /** The primary's log position when the copy finished (MARS's syncpos). */
  syncEnd?: LogPosition;
  /** Replay has passed syncEnd: the disk is a consistent prefix of the primary's. */
  consistent: boolean;
  /** A region resync: only these chunk-aligned [offset, length] ranges (doneBytes is a cursor). */
  regions?: Array<[number, number]>;
  /** The gap file this region resync is for (LogFileHeader.gap). */
  gapFile?: string;
  /** The last gap a completed resync covered: replay may enter that file. */
  gapCleared?: string;
  /** A member cut loose: this resync is for resuming at this file (resource/cut-loose.ts). */
  resumeFile?: string;
  /** The node to copy from (else the designated primary): the gap's writer, or who cut us loose. */
  sourceHost?: string;
}

export interface FetchFile {
  file: string;
  verifiedBytes: number;
  nextSeq: number;
  finished: boolean;
}

/** What an operator pauses and resumes. */
export type PauseWhat = "sync" | "fetch" | "replay";

export interface PauseFile {
  sync: boolean;
  fetch: boolean;
  replay: boolean;
  /**
   * Replay paused, and a checkpoint written since it stopped: everything
   * applied is on the disk (synced), and nothing is applied while it
   * stays paused, so a restart finds the disk exactly at the checkpoint.
   */
  replayCheckpointed?: boolean;
}

/** Emergency mode's record (resource/emergency.ts): present from its entry until every member passed the gap. */
export interface EmergencyFile {
  /** Writes go straight to the disk (no log) since entering. */
  active: boolean;
  /** The last log file before the gap. */
  afterFile: string;
  enteredMs: number;
  /** The first file after the gap, once logging resumed. */
  gapFile?: string;
}

/**
 * A forced failover designated this node and has not completed its
 * take-over yet (role-changes.ts makePrimary): a failure on the way, or a
 * crash, is followed by the same forced take-over, not by the planned rule,
 * which would wait for the writes the force chose to drop (simulator seed
 * 970151). Only while the designation is still the one the force wrote.
 */
export interface ForcedFile {
  designationStampUs: number;
}

export const NOT_PAUSED: PauseFile = { sync: false, fetch: false, replay: false };

export class ResourceFiles {
  constructor(
    readonly dir: string,
    private readonly storage: Storage,
  ) {}

  private async read<T>(name: string): Promise<T | undefined> {
    return (await readJsonFile(path.join(this.dir, name), this.storage)) as T | undefined;
  }

  private write(name: string, value: unknown): Promise<void> {
    return writeFileAtomic(path.join(this.dir, name), JSON.stringify(value) + "\n", this.storage);
  }

  readSync(): Promise<SyncFile | undefined> {
    return this.read<SyncFile>("sync.json");
  }

  writeSync(value: SyncFile): Promise<void> {
    return this.write("sync.json", value);
  }

  readFetch(): Promise<FetchFile | undefined> {
    return this.read<FetchFile>("fetch.json");
  }

  writeFetch(value: FetchFile): Promise<void> {
    return this.write("fetch.json", value);
  }

  async readPause(): Promise<PauseFile> {
    return { ...NOT_PAUSED, ...(await this.read<Partial<PauseFile>>("pause.json")) };
  }

  writePause(value: PauseFile): Promise<void> {
    return this.write("pause.json", value);
  }

  readEmergency(): Promise<EmergencyFile | undefined> {
    return this.read<EmergencyFile>("emergency.json");
  }

  /** Durable when it resolves (the first direct write may follow). */
  writeEmergency(value: EmergencyFile): Promise<void> {
    return this.write("emergency.json", value);
  }

  async removeEmergency(): Promise<void> {
    await this.remove("emergency.json");
  }

  readForced(): Promise<ForcedFile | undefined> {
    return this.read<ForcedFile>("forced.json");
  }

  /** Durable when it resolves. */
  writeForced(value: ForcedFile): Promise<void> {
    return this.write("forced.json", value);
  }

  /** Gone (durably) when it resolves; only while there is one. */
  removeForced(): Promise<void> {
    return this.remove("forced.json");
  }

  private async remove(name: string): Promise<void> {
    await this.storage.remove(path.join(this.dir, name));
    await this.storage.syncDirectory(this.dir);
  }
}

/** A resource directory's state files hold the content of the initial disk (the creator's). */
export const SYNC_DONE = (sizeBytes: number): SyncFile => ({
  state: "done",
  doneBytes: sizeBytes,
  totalBytes: sizeBytes,
  consistent: true,
});
