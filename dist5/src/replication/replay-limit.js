import { PeerProtocolError } from "../peer/error-codes.js";
/** Before any log: a limit that lets nothing be replayed. */
const NOTHING = { fileNumber: 0, host: "", offsetBytes: 0, nextSeq: 0, streamBytes: 0 };
function before(a, b) {
    return a.fileNumber < b.fileNumber || (a.fileNumber === b.fileNumber && a.offsetBytes < b.offsetBytes);
}
export class ReplayLimit {
    moved;
    sourceHost;
    sourcePosition;
    /** Data windows asked and not yet written, each with the source position known when it was asked. */
    writing = new Map();
    windowIds = 0;
    constructor(moved) {
        this.moved = moved;
    }
    get position() {
        let limit = this.sourcePosition ?? NOTHING;
        for (const asked of this.writing.values()) {
            const bound = asked ?? NOTHING;
            if (before(bound, limit))
                limit = bound;
        }
        return limit;
    }
    /** A pass copies from `host`. */
    sourceIs(host) {
        if (host === this.sourceHost)
            return;
        this.sourceHost = host;
        this.sourcePosition = undefined;
        this.moved();
    }
    /** The source said where its log stands (after its reads). */
    reported(position) {
        if (!this.sourcePosition || before(this.sourcePosition, position)) {
            this.sourcePosition = position;
            this.moved();
        }
    }
    /** A data window is about to be asked; returns its id for `written`. */
    asking() {
        const id = ++this.windowIds;
        this.writing.set(id, this.sourcePosition);
        return id;
    }
    /** The window is written (or failed, with every write of it settled). */
    written(id) {
        this.writing.delete(id);
        this.moved();
    }
}
/** An END frame's position, checked before it bounds anything. */
export function endPosition(payload) {
    const p = JSON.parse(payload.toString("utf8"));
    if (!p || !Number.isSafeInteger(p.fileNumber) || !Number.isSafeInteger(p.offsetBytes))
        throw new PeerProtocolError("sync END without a log position");
    return p;
}
//# sourceMappingURL=replay-limit.js.map