export const DEFAULT_BATCHES_IN_FLIGHT = 2;
export const DEFAULT_PREALLOCATE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_WRITER_LIMITS = {
    maxBatchBytes: 4 * 1024 * 1024,
    maxBatchRecords: 256,
    maxPendingBytes: 64 * 1024 * 1024,
    maxBatchesInFlight: DEFAULT_BATCHES_IN_FLIGHT,
    preallocateBytes: DEFAULT_PREALLOCATE_BYTES,
};
//# sourceMappingURL=writer-settings.js.map