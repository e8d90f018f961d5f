/**
 * Makes the metrics of one daemon, each registered in that daemon's registry
 * (no globals, so several daemons can live in one test process). Besides
 * plain counters, gauges and histograms it makes gauges read at scrape time
 * from sources the higher layers register (per resource, or the cluster's):
 * cheaper than updating them on every change, and never stale.
 */
import client from "prom-client";

export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export interface ClusterGaugeValues {
  members: number;
  entries: number;
  tombstones: number;
  lamportAheadUs: number;
}

/** What a resource reports about itself at scrape time. */
export interface ResourceMetricSource {
  applyBacklogBytes(): number;
  applyDirectIo(): boolean;
  role(): "primary" | "secondary";
  paused(): { sync: boolean; fetch: boolean; replay: boolean };
  logFiles(): number;
  splitBrain(): boolean;
  dirtyBytes(): number;
  dirtyMapBytes(): number;
  membersNeedingResync(): number;
  membersCutLoose(): number;
  emergency(): boolean;
  /**
   * How far each other member is behind, as the primary sees it (empty on
   * a secondary, and without members whose applied position is unknown).
   */
  memberLags(): MemberLag[];
  /** The lag beyond which the primary cuts a member loose (lagging.maxLagBytes / maxLagSeconds). */
  lagLimits(): { maxLagBytes: number; maxLagSeconds: number };
}

export interface MemberLag {
  member: string;
  /** Log bytes the primary made durable and the member has not applied. */
  lagBytes: number;
  /** How old the newest write the member applied is, while it is behind at all (0 when not). */
  lagSeconds: number;
}

export class MetricFactory {
  constructor(
    readonly registry: client.Registry,
    /** The resources watched now (read at every scrape). */
    private readonly resourceSources: () => Map<string, ResourceMetricSource>,
    /** The cluster's gauge values now, if the cluster layer set a source. */
    private readonly clusterGauges: () => ClusterGaugeValues | undefined,
  ) {}

  counter(name: string, help: string, labelNames: string[]) {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[]) {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[], buckets: number[]) {
    return new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge read from the cluster's values when scraped (0 while there is no source). */
  scraped(name: string, help: string, pick: (source: ClusterGaugeValues) => number): client.Gauge {
    const read = this.clusterGauges;
    return new client.Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const source = read();
        this.set(source ? pick(source) : 0);
      },
    });
  }

  /** A gauge per resource whose value is read from the resource when scraped. */
  perResource(name: string, help: string, read: (source: ResourceMetricSource) => number): client.Gauge {
    const sources = this.resourceSources;
    return new client.Gauge({
      name,
      help,
      labelNames: ["resource"],
      registers: [this.registry],
      collect() {
        for (const [resource, source] of sources()) this.labels(resource).set(read(source));
      },
    });
  }

  /**
   * A gauge per resource and member, read from the resource when scraped.
   * Reset first, so a member that left (or a primary that stepped down)
   * drops out instead of showing its last value for ever.
   */
  perMember(name: string, help: string, read: (lag: MemberLag) => number): client.Gauge {
    const sources = this.resourceSources;
    return new client.Gauge({
      name,
      help,
      labelNames: ["resource", "member"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [resource, source] of sources()) {
          for (const lag of source.memberLags()) this.labels(resource, lag.member).set(read(lag));
        }
      },
    });
  }

  /** A 0/1 gauge per resource and value of `label`, read from the resource when scraped. */
  perResourceFlags<V extends string>(
    name: string,
    help: string,
    label: string,
    values: readonly V[],
    isSet: (source: ResourceMetricSource, value: V) => boolean,
  ): client.Gauge {
    const sources = this.resourceSources;
    return new client.Gauge({
      name,
      help,
      labelNames: ["resource", label],
      registers: [this.registry],
      collect() {
        for (const [resource, source] of sources()) {
          for (const value of values) this.labels(resource, value).set(isSet(source, value) ? 1 : 0);
        }
      },
    });
  }
}
