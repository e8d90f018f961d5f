/** The NBD server as a Frontend: attaching a volume publishes it as an export. */
import type { BlockVolume } from "../../resource/block-volume.js";
import type { DeviceInfo, Frontend } from "../frontend.js";
import type { ExportRegistry } from "./handshake.js";
import type { NbdServer } from "./server.js";

export class NbdExports implements ExportRegistry {
  private readonly volumes = new Map<string, BlockVolume>();

  lookupExport(name: string): BlockVolume | undefined {
    return this.volumes.get(name);
  }

  listExports(): string[] {
    return [...this.volumes.keys()].sort();
  }

  add(volume: BlockVolume): void {
    this.volumes.set(volume.name, volume);
  }

  remove(name: string): void {
    this.volumes.delete(name);
  }
}

export class NbdFrontend implements Frontend {
  readonly kind = "nbd" as const;

  constructor(
    private readonly server: NbdServer,
    private readonly exports: NbdExports,
  ) {}

  attach(volume: BlockVolume): Promise<DeviceInfo> {
    this.exports.add(volume);
    return Promise.resolve(this.device(volume.name) as DeviceInfo);
  }

  async detach(name: string): Promise<void> {
    this.exports.remove(name);
    await this.server.closeExport(name);
  }

  device(name: string): DeviceInfo | undefined {
    if (!this.exports.lookupExport(name)) return undefined;
    const uris = this.server.uris(name);
    return { kind: "nbd", export: name, uri: uris.unix, ...(uris.tcp ? { tcpUri: uris.tcp } : {}) };
  }
}
