/** Shapes shared by the resource layer and the RPC layer. */
import { formatLogName } from "../log/log-name.js";
import type { LogPosition } from "../log/log-stream.js";

export interface PositionStatus {
  file: string;
  offsetBytes: number;
  streamBytes: number;
}

export function positionStatus(p: LogPosition | undefined): PositionStatus | undefined {
  return p && { file: formatLogName(p), offsetBytes: p.offsetBytes, streamBytes: p.streamBytes };
}
