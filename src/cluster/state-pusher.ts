/**
 * Pushes this node's own state entries to every member.
 *
 * Local changes of one turn are coalesced into one push (a microtask later);
 * a push sends everything written since the last one to every member, at most
 * `pushConcurrency` at once, one message per member (traffic per change grows
 * linearly with the cluster). Pushes never overlap: a change during a push is
 * sent by the next one. A failed push is dropped here; the peer's periodic
 * pull (anti-entropy) catches it up.
 */
import type { StampUs } from "../log/lamport-clock.js";
import type { PeerLink, PushRequest } from "./peer-link.js";
import type { StateStore } from "./state-store.js";

export interface StatePusherDeps {
  state: StateStore;
  pushConcurrency: number;
  /** The links to push to, as they are when a push starts. */
  links: () => PeerLink[];
  /** Whether this node is in a cluster (no pushes outside one). */
  inCluster: () => boolean;
  /** Whether the service stopped (no pushes after that). */
  stopped: () => boolean;
}

export class StatePusher {
  private lastPushedUs: StampUs = 0;
  private scheduled = false;
  private pushing: Promise<void> | undefined;

  constructor(private readonly deps: StatePusherDeps) {}

  /** Our own entries newer than `basisUs`, with the stamp they bring the receiver up to. */
  payload(basisUs: StampUs): PushRequest {
    const entries = this.deps.state.ownEntriesAfter(basisUs);
    const upToUs = entries.reduce((max, e) => Math.max(max, e.stampUs), basisUs);
    return { basisUs, upToUs, entries };
  }

  /** Coalesces local changes into one push to every member. */
  schedule(): void {
    if (this.scheduled || this.deps.stopped()) return;
    this.scheduled = true;
    queueMicrotask(() => {
      void this.run();
    });
  }

  /** Resolves when the push under way (if any) ended. */
  async settled(): Promise<void> {
    await this.pushing?.catch(() => undefined);
  }

  /** After leaving the cluster: the next cluster gets everything again. */
  reset(): void {
    this.lastPushedUs = 0;
  }

  private async run(): Promise<void> {
    while (this.pushing) await this.pushing.catch(() => undefined);
    this.scheduled = false;
    if (!this.deps.inCluster() || this.deps.stopped()) return;
    const payload = this.payload(this.lastPushedUs);
    if (payload.entries.length === 0) return;
    this.lastPushedUs = payload.upToUs;
    const links = this.deps.links();
    this.pushing = (async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < links.length) {
          const link = links[next++] as PeerLink;
          await link.push(payload).catch(() => undefined);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.deps.pushConcurrency, links.length) }, worker));
    })();
    try {
      await this.pushing;
    } finally {
      this.pushing = undefined;
    }
  }
}
