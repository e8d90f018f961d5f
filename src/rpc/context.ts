/**
 * What RPC methods (and other control-plane code) may use of the running
 * daemon: rpc's context. An interface in rpc, implemented by the daemon, so
 * the RPC layer does not depend on how the daemon wires things together
 * (nor import the layer above it).
 */
import type { Logger } from "pino";
import type { LamportClock } from "../log/lamport-clock.js";
import type { ClusterService } from "../cluster/cluster.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import type { FrontendSet } from "../frontend/frontend-set.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ResourceManager } from "../resource/manager.js";

/** The parts of the daemon's configuration the methods report. */
export interface NodeConfigView {
  readonly host: string;
  readonly dataDir: string;
  readonly nbd: { readonly socket: string; readonly tcpListen?: string };
}

export interface NodeServices {
  readonly config: NodeConfigView;
  readonly clock: LamportClock;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly resources: ResourceManager;
  readonly frontends: FrontendSet;
  readonly cluster: ClusterService;
  /** Bandwidth limits (node.setBandwidth). */
  readonly transfers: {
    setBandwidth(kind: "sync" | "fetch", resource: string | undefined, bytesPerSec: number): boolean;
    bandwidth(): { node: Record<string, number>; resources: Record<string, Record<string, number>> };
  };
  /** How clients reach a resource's volume, if it is exported. */
  deviceOf(resource: string): DeviceInfo | undefined;
  isStopping(): boolean;
  /** Seconds since the daemon object was created (monotonic). */
  uptimeSeconds(): number;
}
