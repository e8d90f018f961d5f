/**
 * How far replay may apply while a sync copies into the same disk
 * (Replayer's `limit`): every record ending at or before the limit is in
 * whatever the source reads from now on, and in every data window not yet
 * written here, so no copied chunk can bring older data over a record
 * replayed. The limit is the lowest source position known when a window
 * still in flight was asked, else the highest position the source
 * reported (END frames); nothing before the source has reported one, and
 * nothing again after the source changes (another node's positions say
 * nothing about what this one reads). Replay up to the limit keeps the
 * disk a mix that converges; consistency still needs the sync end rule.
 */
import { positionAtOrAfter, type LogPosition } from "../log/log-stream.js";
import { PeerProtocolError } from "../peer/error-codes.js";

/** Before any log: a limit that lets nothing be replayed. */
const NOTHING: LogPosition = { fileNumber: 0, host: "", offsetBytes: 0, nextSeq: 0, streamBytes: 0 };

function before(a: LogPosition, b: LogPosition): boolean {
  return !positionAtOrAfter(a, b);
}

export class ReplayLimit {
  private sourceHost: string | undefined;
  private sourcePosition: LogPosition | undefined;
  /** Data windows asked and not yet written, each with the source position known when it was asked. */
  private readonly writing = new Map<number, LogPosition | undefined>();
  private windowIds = 0;

  constructor(private readonly moved: () => void) {}

  get position(): LogPosition {
    let limit = this.sourcePosition ?? NOTHING;
    for (const asked of this.writing.values()) {
      const bound = asked ?? NOTHING;
      if (before(bound, limit)) limit = bound;
    }
    return limit;
  }

  /** A pass copies from `host`. */
  sourceIs(host: string): void {
    if (host === this.sourceHost) return;
    this.sourceHost = host;
    this.sourcePosition = undefined;
    this.moved();
  }

  /** The source said where its log stands (after its reads). */
  reported(position: LogPosition): void {
    if (!this.sourcePosition || before(this.sourcePosition, position)) {
      this.sourcePosition = position;
      this.moved();
    }
  }

  /** A data window is about to be asked; returns its id for `written`. */
  asking(): number {
    const id = ++this.windowIds;
    this.writing.set(id, this.sourcePosition);
    return id;
  }

  /** The window is written (or failed, with every write of it settled). */
  written(id: number): void {
    this.writing.delete(id);
    this.moved();
  }
}

/** An END frame's position, checked before it bounds anything. */
export function endPosition(payload: Buffer): LogPosition {
  const p = JSON.parse(payload.toString("utf8")) as Partial<LogPosition> | null;
  if (!p || !Number.isSafeInteger(p.fileNumber) || !Number.isSafeInteger(p.offsetBytes))
    throw new PeerProtocolError("sync END without a log position");
  return p as LogPosition;
}
