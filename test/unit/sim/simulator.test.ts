/**
 * The deterministic simulator (test/sim/simulator.ts) in CI: a fixed set of
 * seeds (each a whole three-node cluster under a seeded workload of writes,
 * handovers, forced failovers, crashes, partitions, log rotations and
 * deletions, with the invariants checked throughout), plus a seed
 * drawn for this run (printed; `npm run sim -- --seed N` replays one), a
 * replay check, and a disk that lies about flushes, which the invariants
 * must catch.
 *
 * MARSD_SIM_SEEDS=<count> runs that many fixed seeds (default 20).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import type { RandomAccessFile, Storage } from "../../../src/platform/storage/types.js";
import { simSeed } from "../../sim/seed.js";
import { SimViolation } from "../../sim/invariants.js";
import { Simulator, type SimOptions } from "../../sim/simulator.js";
import { Workload } from "../../sim/workload.js";
import type { SimStorage } from "../../sim/sim-storage.js";

const FIXED_SEEDS = Number(process.env.MARSD_SIM_SEEDS ?? 20);
const DRAWN = simSeed();

async function run(options: SimOptions): Promise<void> {
  try {
    await new Simulator(options).run();
  } catch (err) {
    assert.fail(err instanceof SimViolation ? err.report() : String(err));
  }
}

describe("simulator", () => {
  it(`fixed seeds 1..${FIXED_SEEDS} keep every invariant`, async () => {
    for (let seed = 1; seed <= FIXED_SEEDS; seed++) await run({ seed });
  });

  // Seeds that found bugs (test/sim/README.md). The code has moved since, so
  // each now plays a different run; they stay as more fixed seeds.
  it("the seeds that found bugs keep every invariant", async () => {
    for (const seed of [
      27, 101, 102, 104, 226, 5007, 5017, 20069, 20122, 20140, 30101, 90149, 90284, 13, 14, 28, 57, 91107, 83,
      300049, 300056, 300088, 300095, 467305, 810023, 810070, 820135, 840037, 840050, 850081, 700090, 870116,
      880031, 860216, 860220, 870046, 890068, 890128, 920155, 930103, 940020, 950142, 980081, 980143, 970151,
      1000043, 1010129, 1010164, 1070040, 1120044,
    ])
      await run({ seed });
  });

  for (const seed of [DRAWN]) {
    it(`drawn seed ${seed} keeps every invariant (npm run sim -- --seed ${seed})`, async () => {
      await run({ seed });
    });
  }

  it(`a seed replays step for step (seed ${DRAWN})`, async () => {
    const traces = [];
    for (let i = 0; i < 2; i++) {
      const sim = new Simulator({ seed: DRAWN, steps: 80 });
      const report = await sim.run().catch((err: unknown) => {
        throw err instanceof SimViolation ? new Error(err.report()) : err;
      });
      traces.push({ trace: sim.trace, report, logs: sim.nodes.map((n) => n.recentLog(400)) });
    }
    assert.deepEqual(traces[1], traces[0]);
  });

  it("catches a disk that acknowledges flushes it never made", async () => {
    const sim = new Simulator({
      seed: DRAWN,
      present: (host, storage) => (host === "alpha" ? lyingDisk(storage) : storage),
    });
    try {
      await sim.start();
      // Cut off, alpha's writes exist only on its own (lying) disk.
      for (const other of ["bravo", "charlie"]) {
        sim.network.partition("alpha", other);
        sim.network.partition(other, "alpha");
      }
      for (let i = 0; i < 20; i++) {
        sim.write("alpha");
        await sim.advance(50);
      }
      assert.ok(sim.writesAcked > 0, "alpha acknowledged writes");
      sim.node("alpha").crash("power");
      await sim.settled("restart of alpha", sim.node("alpha").start());
      for (const other of ["bravo", "charlie"]) {
        sim.network.heal("alpha", other);
        sim.network.heal(other, "alpha");
      }
      // Run on, then settle as a run ends: the lie must show somewhere.
      const violation = await (async () => {
        await sim.advance(60_000);
        await new Workload(sim).settle(180_000);
        await sim.invariants.final();
      })().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(
        violation instanceof SimViolation,
        `no violation reported: ${String(violation)}\n${sim.node("alpha").recentLog(30).join("\n")}`,
      );
      // Lost acknowledged writes, a torn block nothing repaired, a log it cannot read (the
      // resource fails with no injected fault), or no primary at the end: what a lie costs.
      assert.match(
        violation.message,
        /lost acknowledged writes|alpha: block \d+ is damaged|alpha: r0 failed without an injected fault|nodes serve/,
      );
    } finally {
      sim.shutdown();
    }
  });
});

/** The storage `real` with every flush of a log file acknowledged and skipped (and O_DSYNC ignored). */
function lyingDisk(real: SimStorage): Storage {
  const lie = (file: RandomAccessFile): RandomAccessFile =>
    Object.assign(Object.create(file) as RandomAccessFile, {
      syncWrites: false,
      datasync: () => Promise.resolve(),
    });
  return Object.assign(Object.create(real) as Storage, {
    open: async (...args: Parameters<Storage["open"]>) => {
      const [filePath, mode, options] = args;
      if (!path.basename(filePath).startsWith("log-")) return real.open(filePath, mode, options);
      return lie(await real.open(filePath, mode, { ...options, syncWrites: false }));
    },
  });
}
