/**
 * One listener of SimTransport (sim-transport.ts) on the SimNetwork: counts
 * its connections (one per exchange, from the request's arrival until the
 * exchange is over), refuses those beyond maxConnections, and ends them at
 * close.
 *
 * Contract (as NodeTransport's listener): close() stops accepting at once
 * (the caller unregisters the address first), resolves when the last
 * exchange is over, and after LISTENER_CLOSE_GRACE_MS resets the exchanges
 * still in flight. onConnectionsChanged runs on a later turn of the clock.
 */
import type { Clock } from "../../src/platform/clock.js";
import { TransportError, type ListenOptions } from "../../src/platform/transport.js";
import type { RegisteredListener } from "./sim-network.js";

/** Listener.close waits this long for exchanges in flight before resetting them (as NodeTransport). */
export const LISTENER_CLOSE_GRACE_MS = 1_000;

/** What a listener needs of an exchange. */
export interface ListenerExchange {
  fail(error: Error): void;
}

export class SimListener implements RegisteredListener {
  private readonly exchanges = new Set<ListenerExchange>();
  private closing: Promise<void> | undefined;
  private onEmpty: (() => void) | undefined;

  constructor(
    private readonly time: Clock,
    readonly node: string,
    readonly options: ListenOptions,
  ) {}

  /** Counts a new connection; false when closing or at maxConnections (it is then reset). */
  accept(exchange: ListenerExchange): boolean {
    if (this.closing) return false;
    const max = this.options.maxConnections;
    if (max !== undefined && this.exchanges.size >= max) return false;
    this.exchanges.add(exchange);
    this.notify();
    return true;
  }

  /** The exchange is over on the listener's side; idempotent. */
  release(exchange: ListenerExchange): void {
    if (!this.exchanges.delete(exchange)) return;
    this.notify();
    if (this.exchanges.size === 0) this.onEmpty?.();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.exchanges.size === 0) {
        this.time.nextTurn(resolve);
        return;
      }
      const grace = this.time.setTimer(LISTENER_CLOSE_GRACE_MS, () => {
        for (const exchange of [...this.exchanges]) {
          exchange.fail(new TransportError("reset", "the listener closed"));
        }
      });
      this.onEmpty = () => {
        grace.cancel();
        resolve();
      };
    });
    return this.closing;
  }

  /** The node died: stop accepting, and reset every exchange at once (no grace). */
  reset(): void {
    this.closing ??= Promise.resolve();
    for (const exchange of [...this.exchanges]) {
      exchange.fail(new TransportError("reset", "the listening node died"));
    }
  }

  private notify(): void {
    const open = this.exchanges.size;
    if (this.options.onConnectionsChanged)
      this.time.nextTurn(() => this.options.onConnectionsChanged?.(open));
  }
}
