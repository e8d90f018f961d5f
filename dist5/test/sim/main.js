/**
 * `npm run sim -- --seed N` replays one simulated run, step for step;
 * `npm run sim -- --seeds 10000 [--from S]` runs many (seeds S, S+1, ...)
 * and stops at the first failure. Options: --steps N (default 200),
 * --nodes N (default 3), --blocks N (default 256), --verbose (print every
 * action). Exit status 1 on a violation, with its full report.
 */
import { parseArgs } from "node:util";
import { SimViolation } from "./invariants.js";
import { Simulator } from "./simulator.js";
const { values } = parseArgs({
    options: {
        seed: { type: "string" },
        seeds: { type: "string" },
        from: { type: "string" },
        steps: { type: "string" },
        nodes: { type: "string" },
        blocks: { type: "string" },
        verbose: { type: "boolean", default: false },
    },
});
const number = (v, fallback) => (v === undefined ? fallback : Number(v));
const first = values.seed !== undefined ? Number(values.seed) : number(values.from, Math.floor(Date.now() % 1e6));
const runs = values.seed !== undefined ? 1 : number(values.seeds, 1);
for (let i = 0; i < runs; i++) {
    const seed = first + i;
    const startedMs = Date.now();
    try {
        const report = await new Simulator({
            seed,
            steps: number(values.steps, 200),
            nodes: number(values.nodes, 3),
            blocks: number(values.blocks, 256),
            verbose: values.verbose,
        }).run();
        console.log(`seed ${seed}: ok in ${Date.now() - startedMs} ms (virtual ${Math.round(report.virtualMs / 1000)} s, ` +
            `${report.writesAcked}/${report.writesSent} writes acked, ${report.histories} histories, ` +
            `${JSON.stringify(report.actions)})`);
    }
    catch (err) {
        console.error(err instanceof SimViolation ? err.report() : err);
        process.exit(1);
    }
}
//# sourceMappingURL=main.js.map