/**
 * `marsadm view` text (src/cli/status-view.ts) for emergency mode, a gap
 * being resynced, and members cut loose; and the columns scripts match on
 * stay where they were. The statuses are checked against api/openrpc.json
 * first, so the view reads fields the daemon really sends.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { view, type StatusView } from "../../../src/cli/status-view.js";
import { compileValidators, loadOpenRpcDocument } from "../../../src/rpc/openrpc.js";

const MIB = 1024 * 1024;
const validators = compileValidators(loadOpenRpcDocument());

/** A resource.status answer as the daemon sends it (required fields included). */
function status(over: Record<string, unknown>): Record<string, unknown> {
  return {
    name: "r0",
    role: "primary",
    state: "running",
    sizeBytes: 64 * MIB,
    designatedPrimary: "alpha",
    diskState: "UpToDate",
    replState: "Replicating",
    consistent: true,
    paused: { sync: false, fetch: false, replay: false },
    disk: { path: "/srv/r0.img", sizeBytes: 64 * MIB },
    device: { kind: "nbd", export: "r0", uri: "nbd+unix:///r0?socket=/run/marsd/nbd.sock" },
    log: {
      currentFile: "log-000000007-alpha",
      files: [],
      pendingBytes: 0,
      recovery: { replayedBytes: 0, tornBytes: 0 },
    },
    splitBrain: { detected: false },
    members: [
      {
        host: "alpha",
        self: true,
        alive: true,
        role: "primary",
        diskState: "UpToDate",
        replState: "Replicating",
      },
      {
        host: "bravo",
        self: false,
        alive: true,
        role: "secondary",
        diskState: "Outdated",
        replState: "Replaying",
        lagBytes: 3 * MIB,
      },
    ],
    ...over,
  };
}

/** Renders a status after checking it against the API schema (cutLoose: see below). */
function render(s: Record<string, unknown>): string[] {
  const { cutLoose, ...rest } = s;
  // cutLoose joins the schema with the cut-loose work; until then only its use here is checked.
  const checked = cutLoose !== undefined && !schemaHas("cutLoose") ? rest : s;
  const validate = validators.get("resource.status")?.result;
  assert.ok(validate, "resource.status has no result schema");
  assert.ok(validate(checked), JSON.stringify(validate.errors));
  return view(s as unknown as StatusView).split("\n");
}

function schemaHas(field: string): boolean {
  const schemas = (loadOpenRpcDocument() as unknown as { components: { schemas: Record<string, unknown> } })
    .components.schemas;
  const properties = (schemas.ResourceStatus as { properties: Record<string, unknown> }).properties;
  return field in properties;
}

describe("marsadm view", () => {
  it("shows a healthy resource with the columns scripts match on", () => {
    const [line, alpha, bravo, ...rest] = render(status({}));
    assert.equal(
      line,
      "r0  64.0 MiB  primary: alpha  here: primary UpToDate Replicating  nbd+unix:///r0?socket=/run/marsd/nbd.sock",
    );
    assert.match(alpha ?? "", /^ {2}\* alpha +primary +UpToDate +Replicating +alive$/);
    assert.match(bravo ?? "", /^ {4}bravo +secondary +Outdated +Replaying +alive lag 3\.0 MiB$/);
    assert.deepEqual(rest, []);
  });

  it("flags emergency mode and the members that will need a resync", () => {
    const lines = render(
      status({
        emergency: {
          active: true,
          afterFile: "log-000000006-alpha",
          enteredMs: 1_765_000_000_000,
          dirtyBytes: 2 * MIB,
          dirtyMapBytes: 8192,
          membersNeedingResync: [
            { host: "bravo", dirtyBytes: 2 * MIB, reason: "the primary writes without logging" },
          ],
        },
      }),
    );
    assert.match(lines[0] ?? "", /nbd\.sock {2}EMERGENCY {2}1 need resync$/);
    assert.match(lines[2] ?? "", /^ {4}bravo .* lag 3\.0 MiB needs resync$/);
    assert.doesNotMatch(lines[1] ?? "", /resync/);
  });

  it("marks a member whose disk is too small for a grow (as it published it)", () => {
    const base = status({}) as { members: Array<Record<string, unknown>> };
    const reason = "disk /dev/vg/r0 has 33554432 bytes, the resource was grown to 50331648: grow the disk";
    const members = base.members.map((m) =>
      m.host === "bravo" ? { ...m, resize: { wantedBytes: 48 * MIB, diskBytes: 32 * MIB, reason } } : m,
    );
    const lines = render(status({ members }));
    assert.match(lines[2] ?? "", /^ {4}bravo .* lag 3\.0 MiB disk too small for 48\.0 MiB$/);
    assert.doesNotMatch(lines[1] ?? "", /too small/);
  });

  it("names the gap once logging resumed, and drops the count when every member passed it", () => {
    const gap = (needing: unknown[]) =>
      status({
        emergency: {
          active: false,
          afterFile: "log-000000006-alpha",
          gapFile: "log-000000007-alpha",
          enteredMs: 1_765_000_000_000,
          dirtyBytes: 2 * MIB,
          dirtyMapBytes: 8192,
          membersNeedingResync: needing,
        },
      });
    const [waiting] = render(gap([{ host: "bravo", dirtyBytes: 2 * MIB, reason: "missed the writes" }]));
    assert.match(waiting ?? "", / {2}gap log-000000007-alpha {2}1 need resync$/);
    const [done] = render(gap([]));
    assert.match(done ?? "", / {2}gap log-000000007-alpha$/);
    assert.doesNotMatch(render(status({}))[0] ?? "", /EMERGENCY|gap|resync/);
  });

  it("shows a secondary's region resync and its replay waiting at the gap", () => {
    const lines = render(
      status({
        role: "secondary",
        diskState: "Inconsistent",
        replState: "Syncing",
        consistent: false,
        replay: { state: "gap", lagBytes: 0, waitingBefore: "log-000000007-alpha" },
        sync: {
          kind: "regions",
          gapFile: "log-000000007-alpha",
          doneBytes: MIB,
          totalBytes: 2 * MIB,
          rateBytesPerSec: MIB,
          sameBytes: 0,
        },
        members: [
          {
            host: "alpha",
            self: false,
            alive: true,
            role: "primary",
            diskState: "UpToDate",
            replState: "Replicating",
          },
          {
            host: "bravo",
            self: true,
            alive: true,
            role: "secondary",
            diskState: "Inconsistent",
            replState: "Syncing",
            sync: { doneBytes: MIB, totalBytes: 2 * MIB },
          },
        ],
      }),
    );
    assert.match(
      lines[1] ?? "",
      /^ {2}syncing \(regions, gap log-000000007-alpha\): 50\.0% \(1\.0 MiB\/2\.0 MiB\)/,
    );
    assert.match(
      lines[3] ?? "",
      /^ {2}\* bravo .* alive sync regions 1\.0 MiB\/2\.0 MiB waiting at gap log-000000007-alpha$/,
    );
  });

  it("shows a full sync as full", () => {
    const lines = render(
      status({
        role: "secondary",
        diskState: "Inconsistent",
        replState: "Syncing",
        consistent: false,
        sync: { kind: "full", doneBytes: 0, totalBytes: 64 * MIB, rateBytesPerSec: 0, sameBytes: 0 },
      }),
    );
    assert.match(lines[1] ?? "", /^ {2}syncing \(full\): 0\.0% /);
  });

  it("marks every member cut loose, listed or not", () => {
    const cut = (host: string) => ({
      host,
      by: "alpha",
      sinceMs: 1_765_000_000_000,
      reason: "lag 70 GiB over lagging.maxLagBytes",
      lagBytes: 70 * 1024 * MIB,
      dirtyBytes: 12 * MIB,
      resumeFile: "log-000000009-alpha",
    });
    const lines = render(status({ cutLoose: [cut("bravo"), cut("charlie")] }));
    assert.match(lines[2] ?? "", /^ {4}bravo .* lag 3\.0 MiB cut loose \(by alpha, 12\.0 MiB to resync\)$/);
    assert.equal(lines[3], `    ${"charlie".padEnd(16)} cut loose (by alpha, 12.0 MiB to resync)`);
    assert.equal(lines.length, 4);
  });
});
