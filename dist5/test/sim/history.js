/**
 * The simulator's record of what the application wrote and what it was
 * told, and the one question the invariants ask of a disk: is this image
 * a prefix of that history?
 *
 * A history starts from a base image (block -> write id; the disk of the
 * node that took over, as read at that moment) and lists the writes its
 * primary was sent, in the order they were handed to the volume (the order
 * of the log: a volume appends in call order). Each write has its own id,
 * and the block it wrote holds that id (test/helpers/versioned-blocks.ts),
 * so an image read back says which write each block holds.
 *
 * A write is `acked` once the volume resolved it: it must survive on its
 * primary and move with a planned handover. Any other write (in flight at
 * a crash, or rejected) is `unknown`: the disk may or may not hold it.
 *
 * Prefix: an image I is a prefix of history H when some cut k exists such
 * that every block of I holds the last write to it among H's first k writes
 * (or its base value when none), skipping any `unknown` write. Per block
 * this bounds k to an interval; the image is a prefix iff the intervals
 * meet.
 */
export class History {
    id;
    base;
    origin;
    writes = [];
    constructor(id, base, 
    /** What this history came from, for reports: "start", "handover from h2", "forced, from h1"... */
    origin) {
        this.id = id;
        this.base = base;
        this.origin = origin;
    }
    add(write) {
        this.writes.push(write);
    }
    /** One past the last acknowledged write: every cut that keeps all acknowledged writes is at least this. */
    get ackedLength() {
        for (let i = this.writes.length - 1; i >= 0; i--) {
            if (this.writes[i].status === "acked")
                return i + 1;
        }
        return 0;
    }
    /** Whether `image` is this history up to some cut (see the module comment); `minCut` demands at least that many writes. */
    prefix(image, minCut = 0) {
        let low = minCut;
        let high = this.writes.length;
        const position = new Map();
        this.writes.forEach((w, i) => position.set(w.id, i));
        for (let block = 0; block < image.length; block++) {
            const held = image[block];
            const at = position.get(held);
            let from;
            if (at !== undefined && this.writes[at]?.block === block)
                from = at + 1;
            else if (held === this.base[block])
                from = 0;
            else
                return { problem: `block ${block} holds write ${held}, which is not in history h${this.id}` };
            // The first acknowledged write to this block after `from` must not be inside the cut.
            let to = this.writes.length;
            for (let i = from; i < this.writes.length; i++) {
                const w = this.writes[i];
                if (w.block === block && w.status === "acked") {
                    to = i;
                    break;
                }
            }
            low = Math.max(low, from);
            high = Math.min(high, to);
            if (low > high) {
                return {
                    problem: `block ${block} holds write ${held} (cut ${from}..${to}), ` +
                        `other blocks need a cut in ${low === from ? "" : `${low}..`}${high}` +
                        (minCut > 0 ? ` (at least ${minCut}: every acknowledged write)` : ""),
                };
            }
        }
        return { cut: [low, high] };
    }
}
/** The image a fresh disk reads as. */
export function emptyImage(blocks) {
    return new Array(blocks).fill(0);
}
//# sourceMappingURL=history.js.map