/**
 * The resources of this node: creation, lookup, deletion, loading at start.
 *
 * Mutating operations are idempotent (an identical second call reports
 * changed=false) and serialised, so concurrent RPCs cannot race each other
 * into a half-created resource.
 */
import { EventEmitter } from "node:events";
import { mkdir, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { blockDeviceSizeBytes } from "../storage/node-file.js";
import type { FrontendChoice } from "../frontend/frontend-set.js";
import { OperatorError, errorMessage, isErrno } from "../util/errors.js";
import { isValidResourceName, resourceDir, type ResourceConfig } from "./resource-config.js";
import { Resource, type ResourceDeps } from "./resource.js";

export interface CreateResourceParams {
  name: string;
  disk: string;
  sizeBytes?: number;
  frontend?: FrontendChoice;
}

export const MIN_RESOURCE_BYTES = 1024 * 1024;
export const RESOURCE_ALIGN_BYTES = 4096;

export interface ResourceManagerEvents {
  added: [resource: Resource];
}

export class ResourceManager extends EventEmitter<ResourceManagerEvents> {
  private readonly resources = new Map<string, Resource>();
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Awaited before a resource is deleted: frontends stop serving it first. */
  beforeRemove: (name: string) => Promise<void> = () => Promise.resolve();

  constructor(private readonly deps: ResourceDeps) {
    super();
  }

  /** Opens (and recovers) every resource found in the data dir. */
  async loadAll(): Promise<void> {
    const root = path.join(this.deps.dataDir, "resources");
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const name of (await readdir(root)).sort()) {
      if (!isValidResourceName(name)) continue;
      const resource = await Resource.open(resourceDir(this.deps.dataDir, name), this.deps);
      this.resources.set(name, resource);
      this.emit("added", resource);
    }
  }

  get(name: string): Resource | undefined {
    return this.resources.get(name);
  }

  require(name: string): Resource {
    const resource = this.resources.get(name);
    if (!resource)
      throw new OperatorError("RESOURCE_NOT_FOUND", `resource ${name} does not exist on this node`);
    return resource;
  }

  list(): Resource[] {
    return [...this.resources.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  create(params: CreateResourceParams): Promise<{ changed: boolean; resource: Resource }> {
    return this.serialised(async () => {
      this.throwIfClosed();
      const disk = await this.resolveDisk(params.disk);
      const existing = this.resources.get(params.name);
      if (existing) {
        const same =
          existing.config.disk === disk.path &&
          (params.sizeBytes === undefined || params.sizeBytes === existing.config.sizeBytes) &&
          (params.frontend === undefined || params.frontend === existing.config.frontend);
        if (!same) {
          throw new OperatorError(
            "RESOURCE_CONFLICT",
            `resource ${params.name} already exists with disk ${existing.config.disk}, ${existing.config.sizeBytes} bytes, frontend ${existing.config.frontend}`,
            {
              disk: existing.config.disk,
              sizeBytes: existing.config.sizeBytes,
              frontend: existing.config.frontend,
            },
          );
        }
        return { changed: false, resource: existing };
      }
      for (const other of this.resources.values()) {
        if (other.config.disk === disk.path) {
          throw new OperatorError(
            "DISK_IN_USE",
            `disk ${disk.path} is already used by resource ${other.name}`,
          );
        }
      }
      const sizeBytes = params.sizeBytes ?? disk.sizeBytes - (disk.sizeBytes % RESOURCE_ALIGN_BYTES);
      if (sizeBytes < MIN_RESOURCE_BYTES || sizeBytes % RESOURCE_ALIGN_BYTES !== 0) {
        throw new OperatorError(
          "DISK_INVALID",
          `the volume size must be a multiple of ${RESOURCE_ALIGN_BYTES} bytes and at least ${MIN_RESOURCE_BYTES} (got ${sizeBytes})`,
        );
      }
      if (sizeBytes > disk.sizeBytes) {
        throw new OperatorError(
          "DISK_INVALID",
          `disk ${disk.path} has ${disk.sizeBytes} bytes, fewer than the requested ${sizeBytes}`,
        );
      }
      const config: ResourceConfig = {
        format: 1,
        name: params.name,
        disk: disk.path,
        sizeBytes,
        frontend: params.frontend ?? "auto",
        createdStampUs: this.deps.clock.now(),
      };
      let resource: Resource;
      try {
        resource = await Resource.create(config, this.deps);
      } catch (err) {
        if (isErrno(err, "EBUSY")) {
          throw new OperatorError(
            "DISK_IN_USE",
            `disk ${disk.path} is busy (mounted or opened exclusively elsewhere)`,
          );
        }
        throw err;
      }
      this.resources.set(config.name, resource);
      this.emit("added", resource);
      return { changed: true, resource };
    });
  }

  delete(name: string): Promise<{ changed: boolean }> {
    return this.serialised(async () => {
      this.throwIfClosed();
      const resource = this.resources.get(name);
      if (!resource) return { changed: false };
      // Frontends drop their clients first, so nothing writes while the log goes away.
      await this.beforeRemove(name);
      this.resources.delete(name);
      await resource.destroy();
      return { changed: true };
    });
  }

  /** Closes every resource (log finished, checkpoint written). */
  async closeAll(): Promise<void> {
    await this.serialised(async () => {
      this.closed = true;
      await Promise.all([...this.resources.values()].map((r) => r.close()));
    });
  }

  private throwIfClosed(): void {
    if (this.closed) throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
  }

  private async resolveDisk(disk: string): Promise<{ path: string; sizeBytes: number }> {
    if (!path.isAbsolute(disk)) throw new OperatorError("DISK_INVALID", `disk path ${disk} must be absolute`);
    try {
      const real = await realpath(disk);
      const st = await stat(real);
      if (st.isFile()) return { path: real, sizeBytes: st.size };
      if (st.isBlockDevice()) return { path: real, sizeBytes: await blockDeviceSizeBytes(real) };
      throw new OperatorError("DISK_INVALID", `disk ${disk} is neither a regular file nor a block device`);
    } catch (err) {
      if (err instanceof OperatorError) throw err;
      throw new OperatorError("DISK_INVALID", `disk ${disk} cannot be used: ${errorMessage(err)}`);
    }
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
