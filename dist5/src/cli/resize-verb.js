/**
 * marsadm resize <resource> <size>: grows a resource on its primary
 * (resource.resize). As in MARS, grow the backing disk on every member
 * first. The size is bytes, or a number with a binary suffix (K, M, G, T:
 * powers of 1024), e.g. 2G; a shrink is refused by the daemon.
 */
import { InvalidArgumentError } from "commander";
import { bytes } from "./progress.js";
const SUFFIX_SHIFT = { "": 0, k: 10, m: 20, g: 30, t: 40 };
/** "4194304", "64M", "2g", "1.5G" (whole bytes only) -> bytes. */
export function parseSize(text) {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
    if (!m)
        throw new InvalidArgumentError("a size in bytes, or with K, M, G or T (powers of 1024)");
    const shift = SUFFIX_SHIFT[m[2].toLowerCase()];
    const value = Number(m[1]) * 2 ** shift;
    if (!Number.isSafeInteger(value))
        throw new InvalidArgumentError("not a whole number of bytes");
    return value;
}
export function registerResizeVerb(program, cli) {
    program
        .command("resize")
        .description("grow a resource on its primary (grow the disks on every member first); no shrink")
        .argument("<resource>")
        .argument("<size>", "bytes, or with K, M, G, T (powers of 1024)", parseSize)
        .action((name, sizeBytes) => cli.call("resource.resize", { name, sizeBytes }, (r) => r.changed
        ? `grown from ${bytes(r.previousBytes)} to ${bytes(r.sizeBytes)}`
        : `unchanged (${bytes(r.sizeBytes)})`));
}
//# sourceMappingURL=resize-verb.js.map