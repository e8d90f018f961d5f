/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the share of
 * samples per function (self time) and per source file, so a profile of
 * the daemon under fio can be read without a browser.
 *
 *   node dist/bench/profile-summary.js /tmp/prof/CPU.*.cpuprofile [topN]
 */
import { readFileSync } from "node:fs";
function shortUrl(url) {
    const i = url.indexOf("/dist/");
    if (i >= 0)
        return url.slice(i + 6);
    const n = url.indexOf("node_modules/");
    if (n >= 0)
        return url.slice(n);
    return url.replace(/^node:/, "node:") || "(native)";
}
function summarise(file, top) {
    const profile = JSON.parse(readFileSync(file, "utf8"));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const selfUs = new Map();
    profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
    const byFunction = new Map();
    const byFile = new Map();
    for (const [id, us] of selfUs) {
        const frame = byId.get(id).callFrame;
        const where = shortUrl(frame.url);
        const fn = `${frame.functionName || "(anonymous)"}  ${where}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
        byFile.set(where, (byFile.get(where) ?? 0) + us);
    }
    const print = (title, map) => {
        console.log(`\n${title}`);
        for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
            console.log(`${((100 * us) / total).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
        }
    };
    console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
    print("self time by function", byFunction);
    print("self time by file", byFile);
}
const [file, top] = process.argv.slice(2);
if (!file) {
    console.error("usage: profile-summary <file.cpuprofile> [topN]");
    process.exit(2);
}
summarise(file, Number(top ?? 30));
//# sourceMappingURL=profile-summary.js.map