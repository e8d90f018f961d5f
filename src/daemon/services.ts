/**
 * What RPC methods (and other control-plane code) may use of the running
 * daemon. An interface, so the RPC layer does not depend on how the daemon
 * wires things together.
 */
import type { Logger } from "pino";
import type { LamportClock } from "../log/lamport-clock.js";
import type { ClusterService } from "../cluster/cluster.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import type { FrontendSet } from "../frontend/frontend-set.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ResourceManager } from "../resource/manager.js";
import type { DaemonConfig } from "./config.js";

export interface NodeServices {
  readonly config: DaemonConfig;
  readonly clock: LamportClock;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly resources: ResourceManager;
  readonly frontends: FrontendSet;
  readonly cluster: ClusterService;
  /** How clients reach a resource's volume, if it is exported. */
  deviceOf(resource: string): DeviceInfo | undefined;
  isStopping(): boolean;
  /** Seconds since the daemon object was created (monotonic). */
  uptimeSeconds(): number;
}
