/**
 * The log space levels of one filesystem, from its size and free bytes:
 * pure arithmetic, no IO (the sampling is log-space.ts).
 *
 * Contract:
 * - Levels, from best to worst: "ok", "warning" (delete logs no member
 *   needs), "cut" (lagging members stop pinning logs), "emergency" (the
 *   primary stops logging). Their order is their metric value (0..3).
 * - Each threshold is a number of free bytes and a percentage of the
 *   filesystem's size; free space below EITHER puts the filesystem at that
 *   level (0 turns a criterion off). Free means available to an
 *   unprivileged process (statfs f_bavail).
 * - A level is entered as soon as free space is below its threshold, and
 *   left only when free space is back above the threshold plus the
 *   hysteresis (`hysteresisPercent` points of the size, added to both the
 *   byte and the percent criterion), so a filesystem hovering at a
 *   threshold does not flap.
 */
export const LOG_SPACE_LEVELS = ["ok", "warning", "cut", "emergency"];
/**
 * Percent criteria only: the byte floor that makes sense depends on the
 * write rate (the emergency floor must hold what the logs take within one
 * sample interval at peak rate), which the daemon cannot know; operators
 * set freeBytes for theirs (docs/operations.md, "Log space").
 */
export const DEFAULT_LOG_SPACE_SETTINGS = {
    sampleIntervalMs: 5_000,
    warning: { freeBytes: 0, freePercent: 20 },
    cut: { freeBytes: 0, freePercent: 10 },
    emergency: { freeBytes: 0, freePercent: 5 },
    hysteresisPercent: 2,
};
/** The metric value of a level (0 ok .. 3 emergency). */
export function levelValue(level) {
    return LOG_SPACE_LEVELS.indexOf(level);
}
/**
 * Free bytes below which `threshold` applies on a filesystem of
 * `sizeBytes`, with `extraPercent` points added to both criteria (0 to
 * enter, the hysteresis to leave). The larger criterion wins (EITHER).
 */
export function thresholdBytes(threshold, sizeBytes, extraPercent = 0) {
    const extraBytes = (sizeBytes * extraPercent) / 100;
    const byBytes = threshold.freeBytes > 0 ? threshold.freeBytes + extraBytes : 0;
    const byPercent = threshold.freePercent > 0 ? (sizeBytes * (threshold.freePercent + extraPercent)) / 100 : 0;
    return Math.max(byBytes, byPercent);
}
/**
 * The level of a filesystem with `freeBytes` of `sizeBytes` available,
 * given the level it was at: worse levels apply at once, better ones only
 * past the hysteresis.
 */
export function nextLevel(settings, previous, freeBytes, sizeBytes) {
    const previousValue = levelValue(previous);
    let next = "ok";
    for (const level of ["warning", "cut", "emergency"]) {
        // A level we are at (or beyond) is held until free space passes its threshold plus the hysteresis.
        const extraPercent = levelValue(level) <= previousValue ? settings.hysteresisPercent : 0;
        if (freeBytes < thresholdBytes(settings[level], sizeBytes, extraPercent))
            next = level;
    }
    return next;
}
//# sourceMappingURL=log-space-levels.js.map