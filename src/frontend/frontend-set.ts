/**
 * The frontends this daemon can offer, and the choice per resource:
 * "auto" picks ublk when the kernel has it and the native addon loaded,
 * NBD otherwise; "ublk" and "nbd" insist.
 */
import type { BlockVolume } from "../resource/block-volume.js";
import { OperatorError } from "../util/errors.js";
import type { FrontendChoice, FrontendKind } from "../resource/resource-config.js";
import type { DeviceInfo, Frontend } from "./frontend.js";

export type { FrontendChoice };

export class FrontendSet {
  private readonly available = new Map<FrontendKind, Frontend>();
  private readonly unavailable = new Map<FrontendKind, string>();
  /** Which frontend serves which resource. */
  private readonly attached = new Map<string, Frontend>();

  add(frontend: Frontend): void {
    this.available.set(frontend.kind, frontend);
    this.unavailable.delete(frontend.kind);
  }

  /** Records why a frontend cannot be offered on this node (shown in errors and node.info). */
  markUnavailable(kind: FrontendKind, reason: string): void {
    if (!this.available.has(kind)) this.unavailable.set(kind, reason);
  }

  status(): Record<FrontendKind, { available: boolean; reason?: string }> {
    const entry = (kind: FrontendKind) =>
      this.available.has(kind)
        ? { available: true }
        : { available: false, reason: this.unavailable.get(kind) ?? "not built into this daemon" };
    return { nbd: entry("nbd"), ublk: entry("ublk") };
  }

  /** Resolves a choice to a frontend, or throws a clear error. */
  resolve(choice: FrontendChoice): Frontend {
    if (choice === "auto") {
      const frontend = this.available.get("ublk") ?? this.available.get("nbd");
      if (!frontend) throw new OperatorError("FRONTEND_UNAVAILABLE", "no frontend is available");
      return frontend;
    }
    const frontend = this.available.get(choice);
    if (!frontend) {
      throw new OperatorError(
        "FRONTEND_UNAVAILABLE",
        `the ${choice} frontend is not available on this node: ${this.unavailable.get(choice) ?? "not built in"}`,
      );
    }
    return frontend;
  }

  async attach(volume: BlockVolume, choice: FrontendChoice, stateDir: string): Promise<DeviceInfo> {
    const frontend = this.resolve(choice);
    const device = await frontend.attach(volume, stateDir);
    this.attached.set(volume.name, frontend);
    return device;
  }

  async detach(name: string): Promise<void> {
    const frontend = this.attached.get(name);
    this.attached.delete(name);
    await frontend?.detach(name);
  }

  /** An attached volume grew: its frontend updates the device where it can. */
  async resized(name: string): Promise<void> {
    await this.attached.get(name)?.resized?.(name);
  }

  device(name: string): DeviceInfo | undefined {
    return this.attached.get(name)?.device(name);
  }

  /** Detaches everything (clean daemon stop). */
  async detachAll(): Promise<void> {
    await Promise.all([...this.attached.keys()].map((name) => this.detach(name)));
  }
}
