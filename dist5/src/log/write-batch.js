import { encodeRecordHeader, recordHeaderCrc } from "./record.js";
/** How many queued appends the next batch takes, and its bytes. */
export function planBatch(queue, limits) {
    let count = 0;
    let bytes = 0;
    let records = 0;
    for (const next of queue) {
        const fits = bytes + next.bytes <= limits.maxBatchBytes && records + next.entries.length <= limits.maxBatchRecords;
        if (count > 0 && !fits)
            break;
        count += 1;
        bytes += next.bytes;
        records += next.entries.length;
    }
    return { count, bytes, records };
}
/**
 * The buffers of one batch for a single writev: each record's header, then
 * its payload. `durableSeq` is stamped into every header; the digest gets
 * every header's CRC, so batches must be encoded in file order.
 */
export function encodeBatch(batch, durableSeq, digest) {
    const buffers = [];
    for (const item of batch.items) {
        let seq = item.firstSeq;
        for (const e of item.entries) {
            const payload = e.payload ?? EMPTY;
            const header = encodeRecordHeader({
                kind: e.kind,
                seq,
                durableSeq,
                stampUs: item.stampUs,
                offsetBytes: e.offsetBytes,
                lengthBytes: e.lengthBytes,
            }, payload);
            // Batches are launched in file order, so this is the file's record order.
            digest.add(recordHeaderCrc(header));
            buffers.push(header);
            if (payload.length > 0)
                buffers.push(payload);
            seq += 1;
        }
    }
    return buffers;
}
const EMPTY = new Uint8Array(0);
//# sourceMappingURL=write-batch.js.map