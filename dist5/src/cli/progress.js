/**
 * Progress bars for `marsadm view`: the bar, the rate between two samples,
 * the time remaining, in MARS's words (`[====>....] 35.2% ... rate 4.0
 * MiB/s remaining 00:00:03`).
 *
 * Contract: pure functions of their arguments (no clock, no terminal), so
 * the view is unit-testable. Only ASCII is produced: a line's length in
 * characters is its width on the terminal, which the in-place refresh
 * (watch.ts) relies on. A rate or remaining time that cannot be known
 * (one sample, no progress) is shown as unknown, never as 0 or a guess.
 *
 * Why an own renderer and not cli-progress: cli-progress draws bars that it
 * updates itself on a timer and owns the cursor (one multi-bar per
 * process); `view` is a static multi-line text, a pure function of the
 * status and the previous sample, printed once or redrawn whole by
 * --watch. What is needed here (a bar of N characters, a percentage, a
 * rate and an ETA) is a few lines, and keeps the text testable without a
 * terminal.
 */
export const MIN_BAR_COLS = 10;
export const MAX_BAR_COLS = 40;
/** `[=====>......]` of exactly `widthCols` characters (brackets included). */
export function bar(doneBytes, totalBytes, widthCols) {
    const inner = Math.max(1, widthCols - 2);
    const fraction = totalBytes > 0 ? Math.min(1, Math.max(0, doneBytes / totalBytes)) : 0;
    const filled = Math.floor(fraction * inner);
    if (filled >= inner)
        return `[${"=".repeat(inner)}]`;
    return `[${"=".repeat(filled)}>${".".repeat(inner - filled - 1)}]`;
}
/** Percent with one decimal; a total of 0 is done (nothing to do). */
export function percent(doneBytes, totalBytes) {
    if (totalBytes <= 0)
        return "100.0%";
    const p = Math.min(100, Math.max(0, (100 * doneBytes) / totalBytes));
    // Never round an unfinished transfer up to 100.0%.
    const shown = p < 100 && p > 99.94 ? 99.9 : p;
    return `${shown.toFixed(1)}%`;
}
export function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u += 1;
    }
    return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}
/**
 * The rate of a counter that moves in steps (a sync reports progress once
 * per window of 16 MiB): between two refreshes it either jumps or stands
 * still, so the rate between two samples alternates between far too high
 * and 0. Measured from step to step instead, and lowered while the next
 * step takes longer than the last one did (a stalled sync goes to 0).
 * Undefined until the counter was seen twice; a counter that went back
 * starts over.
 */
export function stepRate(previous, bytesNow, nowMs) {
    if (!previous || bytesNow < previous.bytes)
        return { rate: undefined, sample: { bytes: bytesNow, changedAtMs: nowMs } };
    const sinceMs = nowMs - previous.changedAtMs;
    if (bytesNow > previous.bytes) {
        const stepBytes = bytesNow - previous.bytes;
        const stepMs = Math.max(1, sinceMs);
        return {
            rate: (stepBytes * 1000) / stepMs,
            sample: { bytes: bytesNow, changedAtMs: nowMs, stepBytes, stepMs },
        };
    }
    if (sinceMs <= 0)
        return { rate: undefined, sample: previous };
    const rate = previous.stepBytes !== undefined && previous.stepMs !== undefined
        ? (previous.stepBytes * 1000) / Math.max(previous.stepMs, sinceMs)
        : 0;
    return { rate, sample: previous };
}
/** Seconds until `restBytes` are done at `rate`; undefined when the rate is unknown or 0. */
export function etaSeconds(restBytes, rate) {
    if (restBytes <= 0)
        return 0;
    if (rate === undefined || rate <= 0)
        return undefined;
    return Math.ceil(restBytes / rate);
}
/** hh:mm:ss as MARS prints remaining times; `--:--:--` when unknown. */
export function hms(seconds) {
    if (seconds === undefined || !Number.isFinite(seconds))
        return "--:--:--";
    const s = Math.max(0, Math.round(seconds));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return `${hh > 99 ? String(hh) : two(hh)}:${two(mm)}:${two(ss)}`;
}
/** Characters of a progress line around its bar (indent, label, figures) at most. */
const FIXED_COLS = 6 + 8 + 1 + 7 + 24 + 20 + 19;
/** The bar width that fits a terminal of `widthCols`, between MIN_BAR_COLS and MAX_BAR_COLS. */
export function barColsFor(widthCols) {
    return Math.max(MIN_BAR_COLS, Math.min(MAX_BAR_COLS, widthCols - FIXED_COLS));
}
/**
 * `      sync:   [====>.....]  35.2% 5.6 MiB/16.0 MiB rate 4.0 MiB/s remaining 00:00:03`
 */
export function progressLine(p, widthCols) {
    const label = `${p.label}:`.padEnd(8);
    const rate = p.rate === undefined ? "rate ?" : `rate ${bytes(p.rate)}/s`;
    return (`      ${label} ${bar(p.doneBytes, p.totalBytes, barColsFor(widthCols))} ` +
        `${percent(p.doneBytes, p.totalBytes).padStart(6)} ` +
        `${bytes(p.doneBytes)}/${bytes(p.totalBytes)} ${rate} remaining ${hms(p.eta)}`);
}
//# sourceMappingURL=progress.js.map