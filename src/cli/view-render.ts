/**
 * The text of `marsadm view <res>|all`: per resource, a line with its
 * state here, one line per member (disk state, replication state, flags,
 * role), and progress bars with rate and remaining time for a sync, a
 * fetch and a replay in progress, in the spirit of MARS's `marsadm view`.
 *
 * Contract: renderView is a pure function of (statuses, the previous
 * sample, terminal width, now): it returns the lines and the sample the
 * next call compares with. Rates the daemon does not report (fetch,
 * replay, another member's sync) come from two samples, so a single
 * `view` shows them as unknown and `view --watch` fills them in. With a
 * width every line is cut to it (a wrapped line would break the in-place
 * refresh); without one nothing is cut. Only ASCII is produced.
 *
 * Flags (6 characters, MARS's order; upper case: yes/done, lower case: in
 * progress, `-`: no/off/paused):
 *   D device exported here / d disk attached / - detached
 *   C consistent and up to date / c consistent, behind / - inconsistent
 *   A attached / - detached
 *   S no sync needed / s syncing / - sync paused or needed
 *   F fetched everything / f fetching / - fetch paused (primary: -)
 *   R replayed everything / r replaying / - replay paused
 * Another member publishes only one replication state, so its flags show
 * the first paused switch in the order sync, fetch, replay.
 */
import { etaSeconds, progressLine, stepRate, type CounterSample, type ProgressLine } from "./progress.js";
import {
  bytes,
  cutLooseText,
  emergencyFlags,
  memberMarks,
  type MemberView,
  type StatusView,
} from "./status-view.js";

/** Counters of one rendering, compared by the next one to compute rates. */
export interface ViewSample {
  atMs: number;
  /** `<res>/<host>/sync`, `<res>/fetch`, `<res>/replay`: bytes done so far, and their last step. */
  counters: Record<string, CounterSample>;
}

/** One resource: its status, or why it could not be read. */
export type ResourceEntry = StatusView | { name: string; readError: string };

/** The width bars are sized for when the output is not a terminal. */
const DEFAULT_COLS = 100;

export function renderView(
  entries: readonly ResourceEntry[],
  previous: ViewSample | undefined,
  widthCols: number | undefined,
  nowMs: number,
): { lines: string[]; sample: ViewSample } {
  const sample: ViewSample = { atMs: nowMs, counters: {} };
  const ctx: Ctx = { previous, sample, cols: widthCols ?? DEFAULT_COLS };
  const lines: string[] = [];
  for (const e of entries) {
    if ("readError" in e) lines.push(`${e.name}  error: ${e.readError}`);
    else lines.push(...resourceLines(e, ctx));
  }
  if (entries.length === 0) lines.push("no resources");
  const cut = widthCols === undefined ? lines : lines.map((l) => fit(l, widthCols));
  return { lines: cut, sample };
}

/** A line cut to `cols` characters (the last one marks the cut). */
export function fit(line: string, cols: number): string {
  if (cols <= 0 || line.length <= cols) return line;
  return cols === 1 ? "~" : `${line.slice(0, cols - 1)}~`;
}

interface Ctx {
  previous: ViewSample | undefined;
  sample: ViewSample;
  cols: number;
}

/** Records `bytes` under `key` and returns its rate since the previous sample. */
function measure(ctx: Ctx, key: string, bytesNow: number): number | undefined {
  const { rate, sample } = stepRate(ctx.previous?.counters[key], bytesNow, ctx.sample.atMs);
  ctx.sample.counters[key] = sample;
  return rate;
}

function resourceLines(s: StatusView, ctx: Ctx): string[] {
  const self = s.members?.find((m) => m.self);
  const flags = selfFlags(s);
  const device = s.device ? (s.device.uri ?? s.device.path ?? "") : "-";
  const members = s.members ?? [];
  const lines = [
    `${s.name} [${members.length} member${members.length === 1 ? "" : "s"}]  ${bytes(s.sizeBytes)}  primary: ${s.designatedPrimary ?? "(none)"}  ` +
      `here: ${s.role} ${s.diskState ?? "?"} ${s.replState ?? "?"} ${flags}  ${device}${emergencyFlags(s.emergency)}`,
  ];
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.splitBrain?.detected)
    lines.push(`  SPLIT BRAIN at log file ${s.splitBrain.fileNumber ?? "?"}: resolve before handing over`);
  const shown = new Set<string>();
  for (const m of members) {
    shown.add(m.host);
    const marks = memberMarks(s, m);
    const lag =
      m.lagBytes !== undefined && m.lagBytes > 0
        ? ` lag ${bytes(m.lagBytes)}${m.lagSeconds !== undefined ? ` (${m.lagSeconds.toFixed(1)}s)` : ""}`
        : "";
    lines.push(
      `  ${m.self ? "*" : " "} ${m.host.padEnd(16)} ${(m.role ?? "?").padEnd(9)} ${(m.diskState ?? "?").padEnd(12)} ` +
        `${(m.replState ?? "?").padEnd(18)} ${m.self ? flags : memberFlags(m)} ${m.alive ? "alive" : "UNREACHABLE"}${lag}${marks}`,
    );
    const bars = m.self ? selfProgress(s, ctx) : memberProgress(s.name, m, ctx);
    lines.push(...bars.map((p) => progressLine(p, ctx.cols)));
  }
  if (!self) lines.push(...selfProgress(s, ctx).map((p) => progressLine(p, ctx.cols)));
  // Never hide a member that was cut loose, even one missing from the member list.
  for (const c of s.cutLoose ?? []) {
    if (!shown.has(c.host)) lines.push(`    ${c.host.padEnd(16)}${cutLooseText(c)}`);
  }
  if (s.replay?.state === "gap") lines.push(`      replay waits at gap ${s.replay.waitingBefore ?? "?"}`);
  return lines;
}

/** This node's bars: its sync (the daemon measures its rate), fetch and replay (rates from samples). */
function selfProgress(s: StatusView, ctx: Ctx): ProgressLine[] {
  const out: ProgressLine[] = [];
  if (s.sync) {
    const sampled = measure(ctx, `${s.name}/${selfHost(s)}/sync`, s.sync.doneBytes);
    const rate = s.sync.rateBytesPerSec > 0 ? s.sync.rateBytesPerSec : sampled;
    const kind = s.sync.kind === "regions" ? "resync" : "sync";
    out.push({
      label: kind,
      doneBytes: s.sync.doneBytes,
      totalBytes: s.sync.totalBytes,
      rate,
      eta: s.sync.etaSeconds ?? etaSeconds(s.sync.totalBytes - s.sync.doneBytes, rate),
    });
  }
  if (s.role !== "secondary" || !s.log) return out;
  // Of the log files this node holds: what is here, and (fetch) what the primary has more.
  const heldBytes = s.log.files.reduce((sum, f) => sum + f.sizeBytes, 0);
  const replayLagBytes = s.replay?.lagBytes ?? 0;
  const applied = s.log.applied?.streamBytes;
  if (s.fetch) {
    const fetchLagBytes = s.fetch.lagBytes;
    // The stream position fetched up to: applied plus what waits for replay (log deletion does not move it).
    const rate = applied ? measure(ctx, `${s.name}/fetch`, applied + replayLagBytes) : undefined;
    if (fetchLagBytes > 0 || s.paused?.fetch)
      out.push({
        label: s.paused?.fetch ? "fetch(p)" : "fetch",
        doneBytes: heldBytes,
        totalBytes: heldBytes + fetchLagBytes,
        rate,
        eta: etaSeconds(fetchLagBytes, rate),
      });
  }
  if (s.replay) {
    const rate = applied ? measure(ctx, `${s.name}/replay`, applied) : undefined;
    if (replayLagBytes > 0 || s.paused?.replay)
      out.push({
        label: s.paused?.replay ? "replay(p)" : "replay",
        doneBytes: Math.max(0, heldBytes - replayLagBytes),
        totalBytes: heldBytes,
        rate,
        eta: etaSeconds(replayLagBytes, rate),
      });
  }
  return out;
}

/** Another member's sync, as it publishes it (its rate from samples). */
function memberProgress(resource: string, m: MemberView, ctx: Ctx): ProgressLine[] {
  if (!m.sync) return [];
  const rate = measure(ctx, `${resource}/${m.host}/sync`, m.sync.doneBytes);
  return [
    {
      label: "sync",
      doneBytes: m.sync.doneBytes,
      totalBytes: m.sync.totalBytes,
      rate,
      eta: etaSeconds(m.sync.totalBytes - m.sync.doneBytes, rate),
    },
  ];
}

function selfHost(s: StatusView): string {
  return s.members?.find((m) => m.self)?.host ?? "self";
}

/** This node's flags, from everything its own status says. */
export function selfFlags(s: StatusView): string {
  const attached = s.state === "running" && s.diskState !== "Detached";
  const consistent = s.consistent ?? s.diskState !== "Inconsistent";
  const d = s.device ? "D" : attached ? "d" : "-";
  const c = !consistent ? "-" : s.diskState === "UpToDate" ? "C" : "c";
  const a = attached ? "A" : "-";
  const syncing = s.sync !== undefined;
  const sy = syncing ? (s.paused?.sync ? "-" : "s") : consistent ? "S" : "-";
  if (s.role === "primary") return `${d}${c}${a}${sy}-R`;
  const f = s.paused?.fetch ? "-" : (s.fetch?.lagBytes ?? 0) > 0 ? "f" : "F";
  const r = s.paused?.replay ? "-" : (s.replay?.lagBytes ?? 0) > 0 ? "r" : "R";
  return `${d}${c}${a}${sy}${f}${r}`;
}

/** Another member's flags, from the one replication state it publishes. */
export function memberFlags(m: MemberView): string {
  const attached = m.diskState !== undefined && m.diskState !== "Detached";
  const consistent = m.consistent ?? (m.diskState !== undefined && m.diskState !== "Inconsistent");
  const rs = m.replState;
  const d = attached ? "d" : "-";
  const c = !consistent ? "-" : m.diskState === "UpToDate" ? "C" : "c";
  const a = attached ? "A" : "-";
  const sy = rs === "Syncing" ? "s" : rs === "PausedSync" || !consistent ? "-" : "S";
  if (m.role === "primary") return `${d}${c}${a}${sy}-R`;
  const f = rs === "PausedFetch" ? "-" : rs === "Fetching" ? "f" : "F";
  const r = rs === "PausedReplay" ? "-" : rs === "Replaying" ? "r" : "R";
  return `${d}${c}${a}${sy}${f}${r}`;
}
