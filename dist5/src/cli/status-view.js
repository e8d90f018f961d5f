/**
 * The text of `marsadm view <name>` (and of the commands that end with a
 * resource's status): a line for the resource, then one per member, in the
 * spirit of MARS's `marsadm view`.
 *
 * Contract: a pure function of `resource.status` (api/openrpc.json,
 * ResourceStatus); fields it does not know are ignored, and every field it
 * shows is optional in the sense that an older daemon's status without it
 * renders as before. The resource line starts with the same columns as it
 * always did (scripts match them); flags are appended at its end.
 */
import { bytes } from "./progress.js";
export { bytes };
/** EMERGENCY / gap <file> / N need resync, appended to the resource line. */
export function emergencyFlags(e) {
    if (!e)
        return "";
    const flags = [e.active ? "EMERGENCY" : `gap ${e.gapFile ?? "?"}`];
    const needing = e.membersNeedingResync?.length ?? 0;
    if (needing > 0)
        flags.push(`${needing} need resync`);
    return `  ${flags.join("  ")}`;
}
export function cutLooseText(c) {
    const dirty = c.dirtyBytes !== undefined ? `, ${bytes(c.dirtyBytes)} to resync` : "";
    return ` cut loose (by ${c.by}${dirty})`;
}
/** What a member line adds for the local node's own sync and replay (only it reports kind and gap). */
function selfDetail(s, m) {
    let text = "";
    if (m.sync) {
        const kind = s.sync?.kind ? `${s.sync.kind} ` : "";
        text += ` sync ${kind}${bytes(m.sync.doneBytes)}/${bytes(m.sync.totalBytes)}`;
    }
    if (s.replay?.state === "gap")
        text += ` waiting at gap ${s.replay.waitingBefore ?? "?"}`;
    return text;
}
export function view(s) {
    const device = s.device ? (s.device.uri ?? s.device.path ?? "") : "-";
    const lines = [
        `${s.name}  ${bytes(s.sizeBytes)}  primary: ${s.designatedPrimary ?? "(none)"}  here: ${s.role} ${s.diskState ?? ""} ${s.replState ?? ""}  ${device}${emergencyFlags(s.emergency)}`,
    ];
    if (s.error)
        lines.push(`  error: ${s.error}`);
    if (s.splitBrain?.detected)
        lines.push(`  SPLIT BRAIN at log file ${s.splitBrain.fileNumber ?? "?"}: resolve before handing over`);
    if (s.sync) {
        const pct = s.sync.totalBytes > 0 ? ((100 * s.sync.doneBytes) / s.sync.totalBytes).toFixed(1) : "0";
        const kind = s.sync.kind
            ? ` (${s.sync.kind}${s.sync.gapFile !== undefined ? `, gap ${s.sync.gapFile}` : ""})`
            : "";
        lines.push(`  syncing${kind}: ${pct}% (${bytes(s.sync.doneBytes)}/${bytes(s.sync.totalBytes)}) rate ${bytes(s.sync.rateBytesPerSec)}/s${s.sync.etaSeconds !== undefined ? ` eta ${s.sync.etaSeconds}s` : ""}`);
    }
    const cut = new Map((s.cutLoose ?? []).map((c) => [c.host, c]));
    const needing = new Set((s.emergency?.membersNeedingResync ?? []).map((n) => n.host));
    const shown = new Set();
    for (const m of s.members ?? []) {
        shown.add(m.host);
        const lag = m.lagBytes !== undefined
            ? ` lag ${bytes(m.lagBytes)}${m.lagSeconds !== undefined ? ` (${m.lagSeconds.toFixed(1)}s)` : ""}`
            : "";
        const sync = m.self
            ? selfDetail(s, m)
            : m.sync
                ? ` sync ${bytes(m.sync.doneBytes)}/${bytes(m.sync.totalBytes)}`
                : "";
        const c = cut.get(m.host);
        const marks = `${c ? cutLooseText(c) : ""}${needing.has(m.host) ? " needs resync" : ""}`;
        lines.push(`  ${m.self ? "*" : " "} ${m.host.padEnd(16)} ${(m.role ?? "?").padEnd(9)} ${(m.diskState ?? "?").padEnd(12)} ${(m.replState ?? "?").padEnd(18)} ${m.alive ? "alive" : "UNREACHABLE"}${lag}${sync}${marks}`);
    }
    // Never hide a member that was cut loose, even one missing from the member list.
    for (const c of s.cutLoose ?? []) {
        if (!shown.has(c.host))
            lines.push(`    ${c.host.padEnd(16)}${cutLooseText(c)}`);
    }
    return lines.join("\n");
}
//# sourceMappingURL=status-view.js.map