/**
 * Cutting lagging members loose: one dead or very slow member must not pin
 * log files on every node until the disks fill. MARS needed an operator to
 * evict such a member (and then a full sync); here the primary cuts it
 * loose, keeps a dirty map of what it skips, and the member copies only
 * those regions when it returns.
 *
 * Contract:
 * - The primary cuts a member loose when the log it has not applied
 *   exceeds lagging.maxLagBytes, when it has been behind for longer than
 *   lagging.maxLagSeconds, or, at the log space "cut" level, when it is
 *   unreachable while behind. The entry (`host/<primary>/loose/<member>`,
 *   cluster-view.ts) is durable before anything relies on it; from then on
 *   no node keeps log files for that member (retention.ts).
 * - Before the primary deletes a file such a member has not applied, the
 *   regions its records touched are added to that member's own dirty map
 *   (dirty-<member>.map, durable), and the entry's resumeFile moves past
 *   it: everything before resumeFile that the member lacks is in its map.
 * - The member, seeing an entry about itself whose resumeFile is beyond
 *   what it applied, drops its local log files, marks its disk
 *   inconsistent, copies the map's regions from the node that cut it loose
 *   (the whole disk if that node cannot say) and replays from the start of
 *   resumeFile, as a joining member does; it is consistent once replay
 *   passes the sync end.
 * - The node that cut a member loose withdraws the entry (and deletes the
 *   map) once the member is consistent, past resumeFile, and its lag is
 *   below half of both limits (hysteresis).
 */
import path from "node:path";
import { parseLogName } from "../log/log-name.js";
import { recordRanges } from "../log/record-ranges.js";
import { detectForks } from "../replication/history.js";
import { DirtyMap } from "./dirty-map.js";
import { memberHistories } from "./status-model.js";
export function memberMapPath(core, member) {
    return path.join(core.dir, `dirty-${member}.map`);
}
/** The dirty map of a member we cut loose, opened once (created on first use). */
export async function openMemberMap(core, member) {
    let map = core.memberMaps.get(member);
    if (!map) {
        map = await DirtyMap.open(core.deps.storage, memberMapPath(core, member), {
            diskBytes: core.config.sizeBytes,
            granularityBytes: core.deps.settings.dirtyGranularityBytes,
            time: core.deps.time,
        });
        core.memberMaps.set(member, map);
    }
    return map;
}
/**
 * The entries that count: those of the designated primary. An entry of an
 * earlier primary (before a handover, or the other side of a split brain)
 * is ignored: whether its history is the one the cluster follows cannot be
 * told safely. A member such an entry left behind the files still kept is
 * cut loose again by the current primary, for a whole-disk resync.
 */
export function trustedLooseEntries(core) {
    const designated = core.view.designatedPrimary();
    return designated ? core.view.looseEntries().filter((e) => e.by === designated) : [];
}
/** Members that no longer pin log files. */
export function looseMembers(core) {
    return new Set(trustedLooseEntries(core).map((e) => e.member));
}
/**
 * The primary's periodic review: cut loose whoever lags beyond the limits,
 * withdraw who caught up. Returns whether it cut a member loose.
 */
export async function reviewLagging(core, limits, spaceLevelIsCut) {
    const parts = core.primary;
    if (!parts || core.role !== "primary")
        return false;
    let cut = false;
    const durable = parts.log.durablePosition().streamBytes;
    const nowUs = core.deps.time.nowMs() * 1000;
    const mine = new Map(core.view
        .looseEntries()
        .filter((e) => e.by === core.host)
        .map((e) => [e.member, e]));
    for (const member of core.view.members()) {
        if (member === core.host)
            continue;
        const status = core.view.publishedStatusOf(member);
        const applied = status?.applied;
        const lagBytes = applied ? Math.max(0, durable - applied.streamBytes) : undefined;
        // Lag in time: how old the newest write it applied is (Lamport stamps are
        // wall-clock microseconds), while it is behind at all. A healthy member
        // under steady writes is always a little behind, but never by long.
        const stampUs = status?.stampUs;
        const behindSeconds = lagBytes && stampUs ? Math.max(0, (nowUs - stampUs) / 1e6) : 0;
        const entry = mine.get(member);
        if (entry) {
            await withdrawIfCaughtUp(core, entry, limits, lagBytes, behindSeconds, status?.consistent === true);
            continue;
        }
        let reason;
        const appliedNumber = applied ? parseLogName(applied.file)?.fileNumber : undefined;
        const oldest = core.logs.list()[0];
        if (appliedNumber !== undefined && oldest && appliedNumber < oldest.fileNumber) {
            // It needs files no node keeps for it (deleted while an earlier primary had cut it loose):
            // only a whole-disk resync (digests skip what is equal) brings it back.
            const header = await core.logs.header(oldest.name);
            await core.view.publishLoose({
                member,
                sinceMs: core.deps.time.nowMs(),
                reason: `behind ${oldest.name}, the oldest log file kept: whole-disk resync`,
                lagBytes: lagBytes ?? 0,
                resumeFile: oldest.name,
                resumeStreamBytes: header.streamStartBytes,
                wholeDisk: true,
            });
            cut = true;
            continue;
        }
        if (lagBytes !== undefined && lagBytes > limits.maxLagBytes) {
            reason = `${lagBytes} bytes of log not applied (lagging.maxLagBytes ${limits.maxLagBytes})`;
        }
        else if (behindSeconds > limits.maxLagSeconds) {
            reason = `behind for ${Math.round(behindSeconds)} s (lagging.maxLagSeconds ${limits.maxLagSeconds})`;
        }
        else if (spaceLevelIsCut && (lagBytes ?? 1) > 0 && !core.deps.cluster.isAlive(member)) {
            reason = "unreachable and behind while the log area is at the cut level";
        }
        if (!reason)
            continue;
        await core.view.publishLoose({
            member,
            sinceMs: core.deps.time.nowMs(),
            reason,
            lagBytes: lagBytes ?? 0,
        });
        core.deps.metrics.resourceMembersCutLooseTotal.labels(core.name).inc();
        core.deps.logger.warn({ resource: core.name, member, reason }, "member cut loose: it no longer pins log files");
        cut = true;
    }
    return cut;
}
async function withdrawIfCaughtUp(core, entry, limits, lagBytes, behindSeconds, consistent) {
    const applied = parseLogName(core.view.publishedStatusOf(entry.member)?.applied?.file ?? "")?.fileNumber;
    const resume = entry.resumeFile ? (parseLogName(entry.resumeFile)?.fileNumber ?? 0) : 0;
    const caughtUp = consistent &&
        applied !== undefined &&
        applied >= resume &&
        lagBytes !== undefined &&
        lagBytes <= limits.maxLagBytes / 2 &&
        behindSeconds <= limits.maxLagSeconds / 2;
    if (!caughtUp)
        return;
    core.view.withdrawLoose(entry.member);
    const map = core.memberMaps.get(entry.member);
    core.memberMaps.delete(entry.member);
    await map?.close();
    await core.deps.storage.remove(memberMapPath(core, entry.member));
    core.deps.logger.info({ resource: core.name, member: entry.member }, "member caught up: it pins log files again");
}
/**
 * Before the primary deletes `files`: for every member it cut loose that
 * has not applied all of one of them, that file's regions go into the
 * member's map (durable) and its entry's resumeFile moves past it (durable).
 */
export async function foldBeforeDeleting(core, files) {
    if (files.length === 0 || core.role !== "primary")
        return;
    for (const entry of core.view.looseEntries()) {
        if (entry.by !== core.host)
            continue;
        const applied = parseLogName(core.view.publishedStatusOf(entry.member)?.applied?.file ?? "")?.fileNumber ?? 0;
        const missed = files.filter((f) => f.fileNumber >= applied);
        if (missed.length === 0)
            continue;
        const map = await openMemberMap(core, entry.member);
        // (A file listed but never written has no records.)
        for (const f of missed)
            await map.markRanges(await recordRanges(core.deps.storage, f.path, f.lengthBytes));
        const last = Math.max(...missed.map((f) => f.fileNumber));
        const current = entry.resumeFile ? (parseLogName(entry.resumeFile)?.fileNumber ?? 0) : 0;
        if (last + 1 <= current)
            continue;
        const next = core.logs.list().find((f) => f.fileNumber === last + 1);
        if (!next)
            continue;
        const header = await core.logs.header(next.name);
        await core.view.publishLoose({
            member: entry.member,
            sinceMs: entry.sinceMs,
            reason: entry.reason,
            lagBytes: entry.lagBytes,
            resumeFile: next.name,
            resumeStreamBytes: header.streamStartBytes,
        });
    }
}
/** Why this node cannot take over by the planned rule before a resync, if it cannot. */
export function resyncPending(core) {
    const gap = core.secondary?.replayer.pendingGap;
    if (gap)
        return `replay waits before ${gap.file}, after a gap in the log it has not resynced yet`;
    const applied = core.applier.appliedPosition;
    for (const entry of trustedLooseEntries(core)) {
        const resume = entry.resumeFile ? parseLogName(entry.resumeFile) : undefined;
        if (entry.member === core.host && resume && (!applied || applied.fileNumber < resume.fileNumber)) {
            return `cut loose by ${entry.by} (${entry.reason}) and behind ${entry.resumeFile}`;
        }
    }
    return undefined;
}
/**
 * The entry that says this node must resync before replaying on, if any.
 * Never while our own history left the designated primary's (a split
 * brain): copying regions onto a diverged disk would merge two histories;
 * the operator resolves that (resource.leave, then join).
 */
export function ownCutLoose(core) {
    const applied = core.applier.appliedPosition;
    const designated = core.view.designatedPrimary();
    if (!designated || designated === core.host)
        return undefined;
    const pair = memberHistories(core).filter((h) => h.host === core.host || h.host === designated);
    if (pair.length === 2 && detectForks(pair).length > 0)
        return undefined;
    for (const entry of trustedLooseEntries(core)) {
        if (entry.member !== core.host || !entry.resumeFile)
            continue;
        const resume = parseLogName(entry.resumeFile);
        if (!resume)
            continue;
        if (core.syncFile.state === "syncing" && core.syncFile.resumeFile === entry.resumeFile)
            continue;
        if (!applied || applied.fileNumber < resume.fileNumber)
            return entry;
    }
    return undefined;
}
//# sourceMappingURL=cut-loose.js.map