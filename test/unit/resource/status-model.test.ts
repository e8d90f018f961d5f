import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  caughtUp,
  memberLag,
  replayLagBytes,
  secondaryStates,
  type PublishedStatus,
  type SecondaryFacts,
} from "../../../src/resource/status-model.js";

const at = (fileNumber: number, offsetBytes: number, host = "alpha") => ({
  fileNumber,
  host,
  offsetBytes,
  nextSeq: 0,
  streamBytes: 0,
});

describe("status model: lag arithmetic", () => {
  const files = [
    { fileNumber: 1, lengthBytes: 1000 },
    { fileNumber: 2, lengthBytes: 500 },
    { fileNumber: 3, lengthBytes: 200 },
  ];

  it("replay lag: the rest of the applied file and every later one", () => {
    assert.equal(replayLagBytes(files, at(2, 100)), 400 + 200);
    assert.equal(replayLagBytes(files, at(3, 200)), 0);
    assert.equal(replayLagBytes(files, at(3, 250)), 0, "never negative");
    assert.equal(replayLagBytes(files, undefined), 0, "nothing applied yet: no lag counted");
    assert.equal(replayLagBytes([], at(1, 0)), 0);
  });

  it("caught up: at or past the primary's published durable position, in its file", () => {
    const durable = { file: "log-000000002-alpha", offsetBytes: 300, streamBytes: 1300 };
    assert.equal(caughtUp(at(2, 300), durable), true);
    assert.equal(caughtUp(at(2, 299), durable), false);
    assert.equal(caughtUp(at(3, 0), durable), true, "a later file is past it");
    assert.equal(caughtUp(at(1, 999), durable), false);
    assert.equal(caughtUp(at(2, 300, "bravo"), durable), false, "same number, another host's file");
    assert.equal(caughtUp(undefined, durable), false);
    assert.equal(caughtUp(at(2, 300), undefined), false);
  });

  const primary: PublishedStatus = {
    role: "primary",
    diskState: "UpToDate",
    replState: "Replicating",
    consistent: true,
    durable: { file: "log-000000003-alpha", offsetBytes: 100, streamBytes: 5000 },
    stampUs: 9_000_000,
  };
  const secondary = (applied: PublishedStatus["applied"], stampUs?: number): PublishedStatus => ({
    role: "secondary",
    diskState: "Outdated",
    replState: "Replaying",
    consistent: true,
    ...(applied ? { applied } : {}),
    ...(stampUs !== undefined ? { stampUs } : {}),
  });

  it("member lag: bytes and files behind the primary's durable position, seconds by stamps", () => {
    assert.deepEqual(
      memberLag(
        secondary({ file: "log-000000001-alpha", offsetBytes: 10, streamBytes: 3000 }, 6_500_000),
        primary,
      ),
      { lagBytes: 2000, lagSeconds: 2.5, behindFiles: 2 },
    );
  });

  it("member lag: caught up is 0 bytes and 0 seconds", () => {
    assert.deepEqual(
      memberLag(secondary({ file: "log-000000003-alpha", offsetBytes: 100, streamBytes: 5000 }), primary),
      { lagBytes: 0, lagSeconds: 0, behindFiles: 0 },
    );
  });

  it("member lag: unknown (absent), not 0, without positions or stream offsets", () => {
    assert.deepEqual(memberLag(secondary(undefined), primary), {});
    assert.deepEqual(
      memberLag(secondary({ file: "log-000000002-alpha", offsetBytes: 5, streamBytes: 0 }), primary),
      {
        behindFiles: 1,
      },
    );
    assert.deepEqual(
      memberLag(secondary({ file: "log-000000002-alpha", offsetBytes: 5, streamBytes: 10 }), undefined),
      {},
    );
  });
});

describe("status model: a secondary's states", () => {
  const healthy: SecondaryFacts = {
    failed: false,
    syncing: false,
    syncPaused: false,
    consistent: true,
    fetchPaused: false,
    replayPaused: false,
    splitBrain: false,
    designatedPrimary: "alpha",
    primaryAlive: true,
    fetchLagBytes: 0,
    replayLagBytes: 0,
    caughtUpWithPrimary: true,
    primaryHeardSinceStart: true,
    primaryInEmergency: false,
  };
  const cases: Array<[string, Partial<SecondaryFacts>, string, string]> = [
    ["caught up with a live primary", {}, "UpToDate", "Replicating"],
    ["failed", { failed: true, splitBrain: true }, "Detached", "Failed"],
    ["split brain", { splitBrain: true }, "Outdated", "SplitBrain"],
    ["syncing", { syncing: true, consistent: false }, "Inconsistent", "Syncing"],
    ["sync paused", { syncing: true, syncPaused: true, consistent: false }, "Inconsistent", "PausedSync"],
    ["fetch paused", { fetchPaused: true }, "UpToDate", "PausedFetch"],
    ["replay paused, behind", { replayPaused: true, replayLagBytes: 10 }, "Outdated", "PausedReplay"],
    [
      "nobody designated",
      { designatedPrimary: undefined, primaryAlive: false },
      "Outdated",
      "NoPrimaryDesignated",
    ],
    ["primary unreachable", { primaryAlive: false }, "Outdated", "PrimaryUnreachable"],
    ["fetching", { fetchLagBytes: 1 }, "Outdated", "Fetching"],
    ["replaying", { replayLagBytes: 1 }, "Outdated", "Replaying"],
    [
      "the primary writes without logging (emergency mode)",
      { primaryInEmergency: true },
      "Outdated",
      "Replicating",
    ],
    [
      "not caught up with the primary's last published position",
      { caughtUpWithPrimary: false },
      "Outdated",
      "Replicating",
    ],
    [
      "restarted: caught up with the primary's position from before, its state not pulled since",
      { primaryHeardSinceStart: false },
      "Outdated",
      "Replicating",
    ],
  ];
  for (const [name, facts, diskState, replState] of cases) {
    it(name, () => assert.deepEqual(secondaryStates({ ...healthy, ...facts }), { diskState, replState }));
  }
});
