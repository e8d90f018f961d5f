/** The newest version entry of a history. */
export function tipOf(versions) {
    let best;
    for (const n of versions.keys())
        if (best === undefined || n > best)
            best = n;
    return best === undefined ? undefined : versions.get(best);
}
/** What a member has at file number n: a finished version, or a position inside an open file. */
function claimAt(m, n) {
    const v = m.versions.get(n);
    if (v)
        return { file: v.file, lengthBytes: v.lengthBytes, version: v.version };
    let open;
    for (const p of m.positions)
        if (p.fileNumber === n && (!open || p.offsetBytes > open.offsetBytes))
            open = p;
    return open ? { file: open.file, lengthBytes: open.offsetBytes } : undefined;
}
/** Whether two claims about one file number can belong to one history. */
function compatible(a, b) {
    if (a.version !== undefined && b.version !== undefined)
        return a.version === b.version;
    if (a.file !== b.file)
        return false;
    // One of them is still open: it may not be longer than the other's finished version.
    if (a.version !== undefined)
        return b.lengthBytes <= a.lengthBytes;
    if (b.version !== undefined)
        return a.lengthBytes <= b.lengthBytes;
    return true;
}
/**
 * Every fork among the members' histories, in file-number order. Members
 * with nothing at a file number (behind, or pruned) do not contradict
 * anyone there and stay in every lineage that splits off.
 */
export function detectForks(members) {
    const numbers = new Set();
    for (const m of members) {
        for (const n of m.versions.keys())
            numbers.add(n);
        for (const p of m.positions)
            numbers.add(p.fileNumber);
    }
    const forks = [];
    const seen = new Set();
    let lineages = [members];
    for (const n of [...numbers].sort((a, b) => a - b)) {
        const next = [];
        for (const lineage of lineages) {
            const groups = [];
            const unknown = [];
            for (const m of lineage) {
                const claim = claimAt(m, n);
                if (!claim) {
                    unknown.push(m);
                    continue;
                }
                // Finished versions first define the groups; open positions join a compatible one.
                const group = groups.find((g) => compatible(g.claim, claim));
                if (group) {
                    group.hosts.push(m);
                    if (claim.version !== undefined && group.claim.version === undefined)
                        group.claim = claim;
                    else if (claim.version === undefined && group.claim.version === undefined)
                        group.claim = claim.lengthBytes > group.claim.lengthBytes ? claim : group.claim;
                }
                else {
                    groups.push({ claim, hosts: [m] });
                }
            }
            if (groups.length <= 1) {
                next.push(lineage);
                continue;
            }
            const versions = {};
            for (const g of groups)
                for (const m of g.hosts)
                    versions[m.host] = { ...claimAt(m, n) };
            const key = `${n}:${Object.keys(versions).sort().join(",")}`;
            if (!seen.has(key)) {
                seen.add(key);
                forks.push({ fileNumber: n, versions });
            }
            for (const g of groups)
                next.push([...g.hosts, ...unknown]);
        }
        lineages = next;
    }
    return forks;
}
/** Whether `theirs` (another member's tip) is part of the history `ours`. */
export function containsVersion(ours, theirs, fileNumber) {
    const mine = ours.get(fileNumber);
    if (mine)
        return mine.version === theirs.version;
    // Older than everything we still publish: pruned after every member passed it.
    let oldest;
    for (const n of ours.keys())
        if (oldest === undefined || n < oldest)
            oldest = n;
    return oldest !== undefined && fileNumber < oldest;
}
/**
 * Why `candidate` may not start the next log file yet in a planned
 * take-over (undefined: it may). `others` are the other members.
 */
export function plannedTakeOverBlocker(candidate, others, 
/** When a forced failover cut the history at this version: the stamp of that cut. */
cutStampOf = () => undefined) {
    if (!candidate.consistent)
        return "not consistent here";
    const own = { host: candidate.host, versions: candidate.versions, positions: [] };
    for (const m of others) {
        const fork = detectForks([own, m])[0];
        if (fork) {
            // A forced failover decided that m's branch is the history: ours is
            // what it cut off (or an older cut). Going ahead would drop every
            // write acknowledged since that decision; the operator must choose.
            // A cut shows as the version it finished the old file with (when it
            // cut that file short) or as the first file it started (when it had
            // all of the old one, and the branches part at the next file).
            const cutOf = (claim) => {
                if (!claim)
                    return undefined;
                const stamps = [claim.version, claim.file].map((k) => (k === undefined ? undefined : cutStampOf(k)));
                const found = stamps.filter((x) => x !== undefined);
                return found.length > 0 ? Math.max(...found) : undefined;
            };
            const theirCut = cutOf(fork.versions[m.host]);
            const ourCut = cutOf(fork.versions[candidate.host]);
            if (theirCut !== undefined && (ourCut === undefined || theirCut > ourCut)) {
                return (`split brain with ${m.host}: its history is the one a forced failover chose at file ` +
                    `${fork.fileNumber}, ours is not (taking over would drop what was acknowledged since): ` +
                    `resolve it, or take over with force`);
            }
            // Otherwise m is on a branch the history left behind: its split brain
            // is reported, and resolved by the operator; it does not hold us back.
            continue;
        }
        if (m.role === "primary")
            return `${m.host} is still primary`;
        for (const p of m.positions) {
            const mine = candidate.versions.get(p.fileNumber);
            if (!mine || mine.file !== p.file || mine.lengthBytes < p.offsetBytes)
                return `${m.host} holds ${p.file} up to ${p.offsetBytes}, not applied here`;
        }
        const tip = tipOf(m.versions);
        if (!tip)
            continue;
        const n = [...m.versions.entries()].find(([, v]) => v === tip)?.[0];
        if (!containsVersion(candidate.versions, tip, n))
            return `${m.host}'s ${tip.file} is not applied here`;
    }
    if (!candidate.appliedNewestFile)
        return "the newest log file here is not applied to its end";
    return undefined;
}
//# sourceMappingURL=history.js.map