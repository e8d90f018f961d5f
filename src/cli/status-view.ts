/**
 * The text of `marsadm view <name>` (and of the commands that end with a
 * resource's status): a line for the resource, then one per member, in the
 * spirit of MARS's `marsadm view`.
 *
 * Contract: a pure function of `resource.status` (api/openrpc.json,
 * ResourceStatus); fields it does not know are ignored, and every field it
 * shows is optional in the sense that an older daemon's status without it
 * renders as before. The resource line starts with the same columns as it
 * always did (scripts match them); flags are appended at its end.
 */

import { bytes } from "./progress.js";

export { bytes };

export interface MemberView {
  host: string;
  self: boolean;
  alive: boolean;
  role?: string;
  diskState?: string;
  replState?: string;
  lagBytes?: number;
  lagSeconds?: number;
  consistent?: boolean;
  sync?: { doneBytes: number; totalBytes: number };
  /** Not grown to the cluster's size yet (resource.resize): its disk is too small. */
  resize?: { wantedBytes: number; diskBytes: number; reason: string };
}

export interface EmergencyView {
  active: boolean;
  afterFile?: string;
  gapFile?: string;
  dirtyBytes?: number;
  membersNeedingResync?: Array<{ host: string; dirtyBytes: number; reason: string }>;
}

export interface CutLooseView {
  host: string;
  by: string;
  sinceMs?: number;
  reason?: string;
  lagBytes?: number;
  dirtyBytes?: number;
  resumeFile?: string;
}

export interface StatusView {
  name: string;
  role: string;
  state: string;
  error?: string;
  sizeBytes: number;
  designatedPrimary?: string | null;
  diskState?: string;
  replState?: string;
  device?: { kind: string; uri?: string; path?: string };
  splitBrain?: { detected: boolean; fileNumber?: number };
  members?: MemberView[];
  sync?: {
    kind?: "full" | "regions";
    gapFile?: string;
    doneBytes: number;
    totalBytes: number;
    rateBytesPerSec: number;
    etaSeconds?: number;
  };
  consistent?: boolean;
  paused?: { sync: boolean; fetch: boolean; replay: boolean };
  fetch?: { state: string; file: string; lagBytes: number; lastError?: string };
  replay?: { state: string; lagBytes?: number; waitingBefore?: string; blockedReason?: string };
  emergency?: EmergencyView;
  cutLoose?: CutLooseView[];
  log?: {
    currentFile?: string;
    files: Array<{ name: string; sizeBytes: number }>;
    applied?: { file: string; offsetBytes: number; streamBytes: number };
  };
}

/** EMERGENCY / gap <file> / N need resync, appended to the resource line. */
export function emergencyFlags(e: EmergencyView | undefined): string {
  if (!e) return "";
  const flags = [e.active ? "EMERGENCY" : `gap ${e.gapFile ?? "?"}`];
  const needing = e.membersNeedingResync?.length ?? 0;
  if (needing > 0) flags.push(`${needing} need resync`);
  return `  ${flags.join("  ")}`;
}

export function cutLooseText(c: CutLooseView): string {
  const dirty = c.dirtyBytes !== undefined ? `, ${bytes(c.dirtyBytes)} to resync` : "";
  return ` cut loose (by ${c.by}${dirty})`;
}

/** What a member line adds for the local node's own sync and replay (only it reports kind and gap). */
function selfDetail(s: StatusView, m: MemberView): string {
  let text = "";
  if (m.sync) {
    const kind = s.sync?.kind ? `${s.sync.kind} ` : "";
    text += ` sync ${kind}${bytes(m.sync.doneBytes)}/${bytes(m.sync.totalBytes)}`;
  }
  if (s.replay?.state === "gap") text += ` waiting at gap ${s.replay.waitingBefore ?? "?"}`;
  return text;
}

/** What a member line says after its lag: cut loose, needing a resync after emergency mode, a disk too small for a grow. */
export function memberMarks(s: StatusView, m: MemberView): string {
  const c = s.cutLoose?.find((x) => x.host === m.host);
  const needsResync = s.emergency?.membersNeedingResync?.some((n) => n.host === m.host) ?? false;
  const small = m.resize ? ` disk too small for ${bytes(m.resize.wantedBytes)}` : "";
  return `${c ? cutLooseText(c) : ""}${needsResync ? " needs resync" : ""}${small}`;
}

export function view(s: StatusView): string {
  const device = s.device ? (s.device.uri ?? s.device.path ?? "") : "-";
  const lines = [
    `${s.name}  ${bytes(s.sizeBytes)}  primary: ${s.designatedPrimary ?? "(none)"}  here: ${s.role} ${s.diskState ?? ""} ${s.replState ?? ""}  ${device}${emergencyFlags(s.emergency)}`,
  ];
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.splitBrain?.detected)
    lines.push(`  SPLIT BRAIN at log file ${s.splitBrain.fileNumber ?? "?"}: resolve before handing over`);
  if (s.sync) {
    const pct = s.sync.totalBytes > 0 ? ((100 * s.sync.doneBytes) / s.sync.totalBytes).toFixed(1) : "0";
    const kind = s.sync.kind
      ? ` (${s.sync.kind}${s.sync.gapFile !== undefined ? `, gap ${s.sync.gapFile}` : ""})`
      : "";
    lines.push(
      `  syncing${kind}: ${pct}% (${bytes(s.sync.doneBytes)}/${bytes(s.sync.totalBytes)}) rate ${bytes(s.sync.rateBytesPerSec)}/s${s.sync.etaSeconds !== undefined ? ` eta ${s.sync.etaSeconds}s` : ""}`,
    );
  }
  const shown = new Set<string>();
  for (const m of s.members ?? []) {
    shown.add(m.host);
    const lag =
      m.lagBytes !== undefined
        ? ` lag ${bytes(m.lagBytes)}${m.lagSeconds !== undefined ? ` (${m.lagSeconds.toFixed(1)}s)` : ""}`
        : "";
    const sync = m.self
      ? selfDetail(s, m)
      : m.sync
        ? ` sync ${bytes(m.sync.doneBytes)}/${bytes(m.sync.totalBytes)}`
        : "";
    const marks = memberMarks(s, m);
    lines.push(
      `  ${m.self ? "*" : " "} ${m.host.padEnd(16)} ${(m.role ?? "?").padEnd(9)} ${(m.diskState ?? "?").padEnd(12)} ${(m.replState ?? "?").padEnd(18)} ${m.alive ? "alive" : "UNREACHABLE"}${lag}${sync}${marks}`,
    );
  }
  // Never hide a member that was cut loose, even one missing from the member list.
  for (const c of s.cutLoose ?? []) {
    if (!shown.has(c.host)) lines.push(`    ${c.host.padEnd(16)}${cutLooseText(c)}`);
  }
  return lines.join("\n");
}
