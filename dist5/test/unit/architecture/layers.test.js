/**
 * Layers import only downward (the brief: platform -> log/apply ->
 * replication -> resource -> frontend/rpc -> daemon). This test reads every
 * import between the folders of src/ and fails on an import that goes up
 * the order below, unless it is one of the known exceptions, each waiting
 * for its fix (issue 15). A known exception that is gone fails too, so the
 * list only ever shrinks. docs/architecture.md shows the same order.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { PROJECT_ROOT } from "../../../src/platform/assets.js";
/** Lowest first: a folder may import only folders before it (and itself). */
export const LAYER_ORDER = [
    "util",
    "platform",
    "log",
    "metrics",
    "peer",
    "cluster",
    "replication",
    "resource",
    "frontend",
    "rpc",
    "daemon",
    "cli",
];
/**
 * Upward imports that exist, each with what removes it (empty: keep it so;
 * a lower layer that needs something of a higher one defines the interface
 * itself, and the higher one implements it).
 */
const KNOWN_UPWARD = {};
async function sourceFiles(dir) {
    const out = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory())
            out.push(...(await sourceFiles(full)));
        else if (entry.name.endsWith(".ts"))
            out.push(full);
    }
    return out;
}
/** "from -> to" for every import between two folders of src/, with one file that has it. */
async function folderImports() {
    const src = path.join(PROJECT_ROOT, "src");
    const edges = new Map();
    for (const file of await sourceFiles(src)) {
        const from = path.relative(src, file).split(path.sep)[0];
        const text = await readFile(file, "utf8");
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
            const target = path.relative(src, path.resolve(path.dirname(file), m[1]));
            const to = target.split(path.sep)[0];
            if (to !== from && !target.startsWith(".."))
                edges.set(`${from} -> ${to}`, path.relative(PROJECT_ROOT, file));
        }
    }
    return edges;
}
describe("layers", () => {
    it("every folder of src/ has a place in the order", async () => {
        const folders = (await readdir(path.join(PROJECT_ROOT, "src"), { withFileTypes: true }))
            .filter((e) => e.isDirectory())
            .map((e) => e.name);
        for (const folder of folders) {
            assert.ok(LAYER_ORDER.includes(folder), `src/${folder} is not in LAYER_ORDER`);
        }
    });
    it("import only downward, apart from the known exceptions", async () => {
        const edges = await folderImports();
        assert.ok(edges.size > 20, "the import scan found the imports");
        const rank = (folder) => LAYER_ORDER.indexOf(folder);
        const upward = [...edges].filter(([edge]) => {
            const [from, to] = edge.split(" -> ");
            return rank(to) > rank(from);
        });
        for (const [edge, file] of upward) {
            assert.ok(edge in KNOWN_UPWARD, `${edge} goes up the layer order (${file})`);
        }
        for (const edge of Object.keys(KNOWN_UPWARD)) {
            assert.ok(upward.some(([e]) => e === edge), `${edge} no longer exists: remove it from KNOWN_UPWARD`);
        }
    });
});
//# sourceMappingURL=layers.test.js.map