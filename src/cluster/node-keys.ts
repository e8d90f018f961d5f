/**
 * The cluster side of per-node keys (src/peer/node-key.ts): which public
 * key is registered for each host in the state (`node/<host>/key`), the
 * pair keys this node derives from them, and the rule every merge applies
 * so that a registered key never changes.
 *
 * Contract:
 * - A host's key is registered once (at join, or at the first start of a
 *   member from before per-node keys) and then only ever refused if it
 *   differs: a member relaying a key of its own making for another host
 *   would let it speak for that host. It changes only after the host was
 *   removed (its entries, the key among them, are dropped) and joined again.
 * - A removed host has no key here: its requests are refused.
 */
import type { Logger } from "pino";
import { PairKeys, isPublicKey, type NodeKeyPair, type PeerKey } from "../peer/node-key.js";
import { Keys } from "./keys.js";
import type { StateEntry, StateStore } from "./state-store.js";

export interface ClusterKeysDeps {
  host: string;
  own: NodeKeyPair;
  state: StateStore;
  clusterId: () => string | undefined;
  isRemoved: (host: string) => boolean;
  logger: Logger;
}

export class ClusterKeys {
  readonly pairKeys: PairKeys;

  constructor(private readonly deps: ClusterKeysDeps) {
    this.pairKeys = new PairKeys(deps.own, deps.host, (host) => this.registeredKey(host), deps.clusterId);
  }

  get publicKey(): string {
    return this.deps.own.publicKey;
  }

  /** Our key with `peer`, for the requests we send it (undefined: no key of it known). */
  toPeer(peer: string): PeerKey | undefined {
    return this.pairKeys.toPeer(peer);
  }

  /** The key that verifies requests from `host`, and the fingerprint registered for it. */
  requestKey(host: string): PeerKey | undefined {
    return this.deps.isRemoved(host) ? undefined : this.pairKeys.fromPeer(host);
  }

  /** True for an entry that would change (or delete) a registered node key, or register a malformed one. */
  refuses(entry: StateEntry): boolean {
    if (entry.key !== Keys.nodeKey(entry.owner)) return false;
    const registered = this.deps.state.value<unknown>(entry.key);
    const refused =
      entry.deleted === true ||
      !isPublicKey(entry.value) ||
      (registered !== undefined && registered !== entry.value);
    if (refused && registered !== entry.value) {
      this.deps.logger.warn({ host: entry.owner }, "refused a change of a registered node key");
    }
    return refused;
  }

  /** Registers our key if the state lacks it (a member from before per-node keys). */
  registerOwn(): void {
    const { state, host, logger } = this.deps;
    const current = state.value(Keys.nodeKey(host));
    if (current === this.publicKey) return;
    if (current !== undefined) {
      logger.error(
        "this node's key differs from the one registered for it: members refuse it until it is removed (leave with force) and joins again",
      );
    }
    state.set(Keys.nodeKey(host), this.publicKey);
  }

  private registeredKey(host: string): string | undefined {
    const value = this.deps.state.value<unknown>(Keys.nodeKey(host));
    return isPublicKey(value) ? value : undefined;
  }
}
