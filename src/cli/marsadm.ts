#!/usr/bin/env node
/**
 * marsadm: the operator's command line, a thin layer over the JSON-RPC API
 * (every command is one or a few RPC calls; scripts that need more should
 * call the API directly). Output is human-readable, or JSON with --json.
 */
import { Command } from "commander";
import { RpcCallError, RpcClient } from "./rpc-client.js";

interface GlobalOptions {
  url: string;
  tokenFile: string;
  json?: boolean;
}

function print(value: unknown, json: boolean | undefined, human?: (v: never) => string): void {
  if (json || !human) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
  else process.stdout.write(human(value as never) + "\n");
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

interface StatusView {
  name: string;
  role: string;
  state: string;
  error?: string;
  sizeBytes: number;
  device?: { kind: string; uri?: string; path?: string };
  log?: {
    currentFile?: string;
    files: unknown[];
    durable?: { streamBytes: number };
    applied?: { streamBytes: number };
  };
}

function viewLine(s: StatusView): string {
  const device = s.device ? (s.device.uri ?? s.device.path ?? "") : "-";
  const lines = [`${s.name}  ${s.role}  ${s.state}  ${bytes(s.sizeBytes)}  ${device}`];
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.log) {
    lines.push(
      `  log: ${s.log.currentFile ?? "-"} (${s.log.files.length} files), durable ${s.log.durable?.streamBytes ?? 0} B, applied ${s.log.applied?.streamBytes ?? 0} B`,
    );
  }
  return lines.join("\n");
}

async function run(): Promise<void> {
  const program = new Command("marsadm")
    .description("Operate marsd through its JSON-RPC admin API")
    .option("--url <url>", "admin endpoint", process.env.MARSD_URL ?? "http://127.0.0.1:7780")
    .option(
      "--token-file <file>",
      "admin token file",
      process.env.MARSD_TOKEN_FILE ?? "/var/lib/marsd/admin.token",
    )
    .option("--json", "print JSON");
  const client = async (): Promise<[RpcClient, GlobalOptions]> => {
    const opts = program.opts<GlobalOptions>();
    return [await RpcClient.fromTokenFile(opts.url, opts.tokenFile), opts];
  };

  program
    .command("node-info")
    .description("identity and endpoints of the node")
    .action(async () => {
      const [c, o] = await client();
      print(await c.call("node.info"), o.json);
    });

  program
    .command("create-resource <name> <disk>")
    .description("create a resource on a disk; this node becomes its primary")
    .option("--size <bytes>", "volume size in bytes (default: the disk size)")
    .option("--frontend <kind>", "auto|nbd|ublk")
    .action(async (name: string, disk: string, cmd: { size?: string; frontend?: string }) => {
      const [c, o] = await client();
      const params: Record<string, unknown> = { name, disk };
      if (cmd.size !== undefined) params.sizeBytes = Number(cmd.size);
      if (cmd.frontend !== undefined) params.frontend = cmd.frontend;
      const r = await c.call<{ changed: boolean; resource: StatusView }>("resource.create", params);
      print(r, o.json, (v: typeof r) => `${v.changed ? "created" : "unchanged"}\n${viewLine(v.resource)}`);
    });

  program
    .command("delete-resource <name>")
    .description("stop exporting a resource and remove its logs (the disk is kept)")
    .action(async (name: string) => {
      const [c, o] = await client();
      const r = await c.call<{ changed: boolean }>("resource.delete", { name });
      print(r, o.json, (v: typeof r) => (v.changed ? "deleted" : "unchanged (no such resource)"));
    });

  program
    .command("view [name]")
    .description("status of one resource, or of all")
    .action(async (name?: string) => {
      const [c, o] = await client();
      if (name) {
        const s = await c.call<StatusView>("resource.status", { name });
        print(s, o.json, viewLine);
      } else {
        const l = await c.call<{ resources: StatusView[] }>("resource.list");
        print(l, o.json, (v: typeof l) => v.resources.map(viewLine).join("\n") || "no resources");
      }
    });

  program
    .command("log-rotate <name>")
    .description("finish the current log file and start the next")
    .action(async (name: string) => {
      const [c, o] = await client();
      const r = await c.call<{ changed: boolean; currentFile: string }>("resource.logRotate", { name });
      print(
        r,
        o.json,
        (v: typeof r) => `${v.changed ? "rotated" : "unchanged"}: now writing ${v.currentFile}`,
      );
    });

  program
    .command("call <method> [params]")
    .description("call any JSON-RPC method with JSON params")
    .action(async (method: string, params?: string) => {
      const [c] = await client();
      print(await c.call(method, params ? (JSON.parse(params) as Record<string, unknown>) : {}), true);
    });

  try {
    await program.parseAsync();
  } catch (err) {
    if (err instanceof RpcCallError) {
      process.stderr.write(
        `marsadm: ${err.message} (code ${err.code})${err.data ? ` ${JSON.stringify(err.data)}` : ""}\n`,
      );
      process.exit(1);
    }
    process.stderr.write(`marsadm: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void run();
