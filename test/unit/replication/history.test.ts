import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { VersionEntry } from "../../../src/log/version.js";
import { chain } from "../../helpers/version-chain.js";
import {
  detectForks,
  plannedTakeOverBlocker,
  type FilePosition,
  type MemberHistory,
} from "../../../src/replication/history.js";

function pos(fileNumber: number, file: string, offsetBytes: number): FilePosition {
  return { fileNumber, file, offsetBytes };
}

function member(
  host: string,
  versions: Map<number, VersionEntry>,
  extra: Partial<MemberHistory> = {},
): MemberHistory {
  return { host, versions, positions: [], role: "secondary", ...extra };
}

const A1: [string, number] = ["log-000000001-alpha", 100];
const B2: [string, number] = ["log-000000002-bravo", 200];
const A3: [string, number] = ["log-000000003-alpha", 300];

describe("history: forks", () => {
  it("one history: members behind each other are no fork", () => {
    assert.deepEqual(
      detectForks([
        member("alpha", chain(A1, B2, A3)),
        member("bravo", chain(A1, B2)),
        member("charlie", chain(A1), { positions: [pos(2, B2[0], 50)] }),
      ]),
      [],
    );
  });

  it("two versions of one file number are a fork", () => {
    const forks = detectForks([
      member("alpha", chain(A1, B2, A3)),
      member("bravo", chain(A1, B2, ["log-000000003-bravo", 10])),
    ]);
    assert.equal(forks.length, 1);
    assert.equal(forks[0]?.fileNumber, 3);
  });

  it("a primary writing past the length at which another member cut its file is a fork, before any rotation", () => {
    const forks = detectForks([
      member("alpha", chain(A1), { role: "primary", positions: [pos(2, "log-000000002-alpha", 900)] }),
      member("bravo", chain(A1, ["log-000000002-alpha", 500])),
    ]);
    assert.equal(forks.length, 1);
    assert.equal(forks[0]?.fileNumber, 2);
    assert.equal(forks[0]?.versions.alpha?.lengthBytes, 900);
  });

  it("a cut at exactly what the old primary wrote is no fork", () => {
    assert.deepEqual(
      detectForks([
        member("alpha", chain(A1), { positions: [pos(2, "log-000000002-alpha", 500)] }),
        member("bravo", chain(A1, ["log-000000002-alpha", 500])),
      ]),
      [],
    );
  });

  it("a double failover reports both forks", () => {
    const alpha = member("alpha", chain(A1, ["log-000000002-alpha", 900]));
    const bravo = member("bravo", chain(A1, ["log-000000002-alpha", 500], ["log-000000003-bravo", 700]));
    const charlie = member("charlie", chain(A1, ["log-000000002-alpha", 500], ["log-000000003-bravo", 300]));
    const forks = detectForks([alpha, bravo, charlie]);
    assert.deepEqual(
      forks.map((f) => [f.fileNumber, Object.keys(f.versions).sort()]),
      [
        [2, ["alpha", "bravo", "charlie"]],
        [3, ["bravo", "charlie"]],
      ],
    );
  });
});

describe("history: planned take-over", () => {
  const candidate = (versions: Map<number, VersionEntry>, appliedNewestFile = true) => ({
    host: "bravo",
    consistent: true,
    versions,
    appliedNewestFile,
  });

  it("refused while the candidate lacks the old primary's last file (its own older file does not count)", () => {
    // bravo wrote file 2 in an earlier turn; alpha then wrote file 3 and stepped down.
    const why = plannedTakeOverBlocker(candidate(chain(A1, B2)), [member("alpha", chain(A1, B2, A3))]);
    assert.match(why ?? "", /alpha's log-000000003-alpha is not applied here/);
  });

  it("refused while the old primary has not stepped down", () => {
    const why = plannedTakeOverBlocker(candidate(chain(A1, B2)), [
      member("alpha", chain(A1, B2), { role: "primary", positions: [pos(3, A3[0], 10)] }),
    ]);
    assert.match(why ?? "", /alpha is still primary/);
  });

  it("refused while another member applied more of an open file than the candidate has", () => {
    const why = plannedTakeOverBlocker(candidate(chain(A1)), [
      member("alpha", chain(A1)),
      member("charlie", chain(A1), { positions: [pos(2, B2[0], 150)] }),
    ]);
    assert.match(why ?? "", /charlie holds log-000000002-bravo up to 150/);
  });

  it("a member at the very start of a file the candidate lacks holds none of it (simulator seed 1010129)", () => {
    // charlie resyncs towards alpha's file 2 and has none of its records: nothing to wait for.
    const others = (offsetBytes: number) => [
      member("alpha", chain(A1)),
      member("charlie", new Map(), { positions: [pos(2, "log-000000002-alpha", offsetBytes)] }),
    ];
    assert.equal(plannedTakeOverBlocker(candidate(chain(A1)), others(0)), undefined);
    assert.match(
      plannedTakeOverBlocker(candidate(chain(A1)), others(300)) ?? "",
      /charlie holds log-000000002-alpha up to 300/,
    );
  });

  it("refused when inconsistent and before the newest file is applied", () => {
    assert.match(
      plannedTakeOverBlocker({ ...candidate(chain(A1)), consistent: false }, []) ?? "",
      /not consistent/,
    );
    assert.match(plannedTakeOverBlocker(candidate(chain(A1), false), []) ?? "", /not applied to its end/);
  });

  it("a member on another fork does not hold the designated primary back (its split brain is reported)", () => {
    const forked = member("alpha", chain(A1, ["log-000000002-alpha", 5]), { role: "primary" });
    assert.equal(plannedTakeOverBlocker(candidate(chain(A1, B2)), [forked]), undefined);
    assert.equal(detectForks([member("bravo", chain(A1, B2)), forked]).length, 1);
  });

  // Found by the simulator (seeds 5007 and 5017): a forced failover to a node
  // that lagged behind another, then a planned handover to that other one
  // (or one on the old primary's branch): it went ahead on the branch the
  // failover had cut off and dropped every write acknowledged since.
  it("a fork with the history a forced failover chose blocks a planned take-over", () => {
    const cutAt2: [string, number] = ["log-000000002-alpha", 5];
    const alpha = member("alpha", chain(A1, cutAt2));
    const cutVersion = chain(A1, cutAt2).get(2)?.version as string;
    const cuts = new Map([[cutVersion, 7_000]]);
    const why = plannedTakeOverBlocker(candidate(chain(A1, B2)), [alpha], (v) => cuts.get(v));
    assert.match(
      why ?? "",
      /split brain with alpha: its history is the one a forced failover chose at file 2/,
    );
    // A newer cut on our side (a later forced failover chose ours) wins.
    const ours = chain(A1, B2).get(2)?.version as string;
    const newer = new Map([
      [cutVersion, 7_000],
      [ours, 9_000],
    ]);
    assert.equal(
      plannedTakeOverBlocker(candidate(chain(A1, B2)), [alpha], (v) => newer.get(v)),
      undefined,
    );
    // A cut that had all of file 1 shows as the first file it started (seed 30101).
    const firstFile = new Map([["log-000000002-alpha", 7_000]]);
    assert.match(
      plannedTakeOverBlocker(candidate(chain(A1, B2)), [alpha], (k) => firstFile.get(k)) ?? "",
      /split brain with alpha/,
    );
  });

  it("allowed once the candidate applied the old primary's last file", () => {
    assert.equal(
      plannedTakeOverBlocker(candidate(chain(A1, B2, A3)), [
        member("alpha", chain(A1, B2, A3), { positions: [pos(3, A3[0], 300)] }),
        member("charlie", chain(A1), { positions: [pos(2, B2[0], 150)] }),
      ]),
      undefined,
    );
  });

  it("versions pruned below everything the candidate still publishes count as applied", () => {
    const full = chain(A1, B2, A3);
    const pruned = new Map([...full].filter(([n]) => n >= 2));
    assert.equal(
      plannedTakeOverBlocker(candidate(pruned), [
        member("charlie", new Map([[1, full.get(1) as VersionEntry]])),
      ]),
      undefined,
    );
  });
});
