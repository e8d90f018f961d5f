import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { VersionEntry } from "../../../src/log/version.js";
import { chain } from "../../helpers/version-chain.js";
import type { MemberHistory } from "../../../src/replication/history.js";
import {
  decideRoleChange,
  decideStartRole,
  mayCloseGap,
  makePrimaryRefusal,
  type ChangeFacts,
  type GapFacts,
  type MakePrimaryFacts,
  type RoleDecision,
  type StartFacts,
  type TakeOverFacts,
} from "../../../src/resource/role-decision.js";

const A1: [string, number] = ["log-000000001-alpha", 100];
const A2: [string, number] = ["log-000000002-alpha", 200];
const C2: [string, number] = ["log-000000002-charlie", 50];

function other(
  host: string,
  versions: Map<number, VersionEntry>,
  extra: Partial<MemberHistory> = {},
): MemberHistory {
  return { host, versions, positions: [], role: "secondary", ...extra };
}

/** bravo, designated, has applied alpha's two files; alpha stepped down. */
const READY: TakeOverFacts = {
  runningAsSecondary: true,
  unheardMembers: [],
  consistent: true,
  ownVersions: chain(A1, A2),
  appliedNewestFile: true,
  others: [other("alpha", chain(A1, A2))],
  cutStampOf: () => undefined,
  appliedFileNumber: 2,
  unloggedWrites: [],
};

/** bravo, a secondary now, wrote in emergency mode after A2 as primary; alpha (designated, heard) waits for it. */
const OWN_GAP: GapFacts = {
  host: "bravo",
  designatedPrimary: "alpha",
  afterFileNumber: 2,
  designatedHeard: true,
  designatedRole: "secondary",
  others: [
    other("alpha", chain(A1, A2)),
    other("charlie", chain(A1), { positions: [{ fileNumber: 2, file: A2[0], offsetBytes: 10 }] }),
  ],
  cutBeyond: false,
};

const STAY: RoleDecision = { kind: "stay", abandonTakeOver: false };
const ABANDON: RoleDecision = { kind: "stay", abandonTakeOver: true };
const SECONDARY: RoleDecision = { kind: "become-secondary", confirmTakeOver: false };
const CONFIRM: RoleDecision = { kind: "become-secondary", confirmTakeOver: true };
const PRIMARY: RoleDecision = { kind: "become-primary" };

describe("role decision: at start", () => {
  const base: StartFacts = {
    host: "bravo",
    designatedPrimary: "bravo",
    otherMembers: [],
    handoverPending: false,
    forcedTakeOverPending: false,
  };
  const cases: Array<[string, Partial<StartFacts>, RoleDecision]> = [
    ["designated elsewhere: secondary", { designatedPrimary: "alpha", otherMembers: ["alpha"] }, SECONDARY],
    ["nobody designated: secondary", { designatedPrimary: undefined }, SECONDARY],
    ["designated here, sole member, nothing pending: primary at once", {}, PRIMARY],
    [
      "designated here with other members: secondary, confirm before exporting",
      { otherMembers: ["alpha"] },
      CONFIRM,
    ],
    [
      "designated here, sole member, a hand-over not complete here: confirm",
      { handoverPending: true },
      CONFIRM,
    ],
    [
      "designated here by a forced failover whose take-over failed: the forced take-over, without confirming",
      { otherMembers: ["alpha"], handoverPending: true, forcedTakeOverPending: true },
      { kind: "become-primary", cut: true },
    ],
    [
      "designated elsewhere since a forced failover here: secondary",
      { designatedPrimary: "alpha", otherMembers: ["alpha"], forcedTakeOverPending: true },
      SECONDARY,
    ],
  ];
  for (const [name, facts, expected] of cases) {
    it(name, () => assert.deepEqual(decideStartRole({ ...base, ...facts }), expected));
  }
});

describe("role decision: on a change", () => {
  const base: ChangeFacts = {
    host: "bravo",
    active: true,
    role: "secondary",
    designatedPrimary: "bravo",
    takeOver: () => READY,
  };
  const blocked = (reason: string): RoleDecision => ({ kind: "block", reason });
  const cases: Array<[string, Partial<ChangeFacts>, RoleDecision | ((d: RoleDecision) => void)]> = [
    [
      "not started (or failed, closed): nothing",
      { active: false, role: "primary", designatedPrimary: "alpha" },
      STAY,
    ],
    [
      "primary, designated elsewhere: step down",
      { role: "primary", designatedPrimary: "alpha" },
      { kind: "step-down" },
    ],
    [
      "primary, nobody designated: step down",
      { role: "primary", designatedPrimary: undefined },
      { kind: "step-down" },
    ],
    ["primary, designated here: stay", { role: "primary" }, STAY],
    ["secondary, designated elsewhere: stay, no take-over pending", { designatedPrimary: "alpha" }, ABANDON],
    ["secondary, nobody designated: stay, no take-over pending", { designatedPrimary: undefined }, ABANDON],
    ["secondary, designated here, everything applied: take over", {}, PRIMARY],
    [
      "designated here, fetcher/replayer not running: block",
      { takeOver: () => ({ ...READY, runningAsSecondary: false }) },
      blocked("not running as a secondary"),
    ],
    [
      "designated here, a member not heard since start: block, naming it",
      { takeOver: () => ({ ...READY, unheardMembers: ["alpha", "charlie"] }) },
      (d) => {
        assert.equal(d.kind, "block");
        assert.match((d as { reason: string }).reason, /waiting to hear from alpha, charlie/);
      },
    ],
    [
      "designated here, not consistent: block",
      { takeOver: () => ({ ...READY, consistent: false }) },
      blocked("not consistent here"),
    ],
    [
      "designated here, the old primary still primary: block",
      { takeOver: () => ({ ...READY, others: [other("alpha", chain(A1, A2), { role: "primary" })] }) },
      blocked("alpha is still primary"),
    ],
    [
      "designated here, the old primary's last file not applied here: block",
      { takeOver: () => ({ ...READY, ownVersions: chain(A1), others: [other("alpha", chain(A1, A2))] }) },
      blocked("alpha's log-000000002-alpha is not applied here"),
    ],
    [
      "designated here, newest local file not applied to its end: block",
      { takeOver: () => ({ ...READY, appliedNewestFile: false }) },
      blocked("the newest log file here is not applied to its end"),
    ],
    [
      "designated here, a member holds emergency-mode writes after our last file: block, naming it",
      { takeOver: () => ({ ...READY, unloggedWrites: [{ host: "alpha", afterFileNumber: 2 }] }) },
      (d) => {
        assert.equal(d.kind, "block");
        assert.match((d as { reason: string }).reason, /^alpha holds writes made in emergency mode/);
      },
    ],
    [
      "designated here, a member's emergency-mode writes are behind our history (a gap or a cut past them)",
      {
        takeOver: () => ({
          ...READY,
          appliedFileNumber: 3,
          unloggedWrites: [{ host: "alpha", afterFileNumber: 2 }],
        }),
      },
      PRIMARY,
    ],
    [
      "designated here, a member on another fork does not hold us back",
      { takeOver: () => ({ ...READY, others: [other("charlie", chain(A1, C2), { role: "primary" })] }) },
      PRIMARY,
    ],
  ];
  for (const [name, facts, expected] of cases) {
    it(name, () => {
      const decision = decideRoleChange({ ...base, ...facts });
      if (typeof expected === "function") expected(decision);
      else assert.deepEqual(decision, expected);
    });
  }

  it("asks for the take-over facts only when designated here as a secondary", () => {
    let asked = 0;
    const takeOver = () => {
      asked++;
      return READY;
    };
    decideRoleChange({ ...base, takeOver, designatedPrimary: "alpha" });
    decideRoleChange({ ...base, takeOver, role: "primary" });
    decideRoleChange({ ...base, takeOver, active: false });
    assert.equal(asked, 0);
    decideRoleChange({ ...base, takeOver });
    assert.equal(asked, 1);
  });
});

describe("role decision: a secondary owing a gap file for its unlogged emergency writes", () => {
  const cases: Array<[string, Partial<GapFacts>, boolean]> = [
    ["nobody went on past the last file before the gap: write it", {}, true],
    ["the designated primary not heard since we started: wait", { designatedHeard: false }, false],
    [
      "the designated primary serves already: the writes were dropped by force",
      { designatedRole: "primary" },
      false,
    ],
    [
      "a member has a later file: dropped",
      { others: [other("alpha", chain(A1, A2, ["log-000000003-alpha", 9]))] },
      false,
    ],
    [
      "a member is writing or applying a later file: dropped",
      {
        others: [
          other("alpha", chain(A1, A2), {
            positions: [{ fileNumber: 3, file: "log-000000003-alpha", offsetBytes: 0 }],
          }),
        ],
      },
      false,
    ],
    ["a forced failover started a later history: dropped", { cutBeyond: true }, false],
    ["no primary designated: nobody waits", { designatedPrimary: undefined }, false],
    ["designated here: the take-over writes it", { designatedPrimary: "bravo" }, false],
  ];
  for (const [name, facts, expected] of cases) {
    it(name, () => assert.equal(mayCloseGap({ ...OWN_GAP, ...facts }), expected));
  }
});

describe("role decision: resource.primary (operator policy)", () => {
  const base: MakePrimaryFacts = {
    force: false,
    host: "bravo",
    designatedPrimary: "alpha",
    consistent: true,
    splitBrain: false,
    paused: { fetch: false, replay: false, sync: false },
    currentPrimaryAlive: true,
  };
  const cases: Array<[string, Partial<MakePrimaryFacts>, string | undefined]> = [
    ["planned handover from a live primary: allowed", {}, undefined],
    ["nobody designated: allowed", { designatedPrimary: undefined, currentPrimaryAlive: false }, undefined],
    ["not consistent: refused", { consistent: false }, "NOT_CONSISTENT"],
    ["not consistent: refused even by force", { consistent: false, force: true }, "NOT_CONSISTENT"],
    ["split brain: refused", { splitBrain: true }, "SPLIT_BRAIN"],
    ["split brain with force: allowed", { splitBrain: true, force: true }, undefined],
    ["fetch paused: refused", { paused: { fetch: true, replay: false, sync: false } }, "REPLICATION_PAUSED"],
    ["replay paused: refused", { paused: { fetch: false, replay: true, sync: false } }, "REPLICATION_PAUSED"],
    [
      "paused with force: allowed",
      { force: true, paused: { fetch: true, replay: true, sync: true } },
      undefined,
    ],
    ["current primary unreachable: refused", { currentPrimaryAlive: false }, "PRIMARY_UNREACHABLE"],
    [
      "cut loose and behind (or before a gap): refused",
      { resyncPending: "cut loose by alpha" },
      "NOT_CONSISTENT",
    ],
    [
      "cut loose and behind, forced: allowed",
      { resyncPending: "cut loose by alpha", force: true },
      undefined,
    ],
    ["current primary unreachable, force: allowed", { currentPrimaryAlive: false, force: true }, undefined],
    [
      "split brain is reported before pauses and reachability",
      { splitBrain: true, currentPrimaryAlive: false, paused: { fetch: true, replay: false, sync: false } },
      "SPLIT_BRAIN",
    ],
  ];
  for (const [name, facts, code] of cases) {
    it(name, () => assert.equal(makePrimaryRefusal("r0", { ...base, ...facts })?.code, code));
  }

  it("names what is paused", () => {
    const refusal = makePrimaryRefusal("r0", { ...base, paused: { fetch: true, replay: true, sync: false } });
    assert.deepEqual(refusal?.data, { paused: ["fetch", "replay"] });
    assert.match(refusal?.message ?? "", /^fetch and replay paused on this node/);
  });
});
