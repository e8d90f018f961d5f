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
export class MetricFactory {
    registry;
    resourceSources;
    clusterGauges;
    constructor(registry, 
    /** The resources watched now (read at every scrape). */
    resourceSources, 
    /** The cluster's gauge values now, if the cluster layer set a source. */
    clusterGauges) {
        this.registry = registry;
        this.resourceSources = resourceSources;
        this.clusterGauges = clusterGauges;
    }
    counter(name, help, labelNames) {
        return new client.Counter({ name, help, labelNames, registers: [this.registry] });
    }
    gauge(name, help, labelNames) {
        return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
    }
    histogram(name, help, labelNames, buckets) {
        return new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
    }
    /** A gauge read from the cluster's values when scraped (0 while there is no source). */
    scraped(name, help, pick) {
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
    perResource(name, help, read) {
        const sources = this.resourceSources;
        return new client.Gauge({
            name,
            help,
            labelNames: ["resource"],
            registers: [this.registry],
            collect() {
                for (const [resource, source] of sources())
                    this.labels(resource).set(read(source));
            },
        });
    }
    /**
     * A gauge per resource and member, read from the resource when scraped.
     * Reset first, so a member that left (or a primary that stepped down)
     * drops out instead of showing its last value for ever.
     */
    perMember(name, help, read) {
        const sources = this.resourceSources;
        return new client.Gauge({
            name,
            help,
            labelNames: ["resource", "member"],
            registers: [this.registry],
            collect() {
                this.reset();
                for (const [resource, source] of sources()) {
                    for (const lag of source.memberLags())
                        this.labels(resource, lag.member).set(read(lag));
                }
            },
        });
    }
    /** A 0/1 gauge per resource and value of `label`, read from the resource when scraped. */
    perResourceFlags(name, help, label, values, isSet) {
        const sources = this.resourceSources;
        return new client.Gauge({
            name,
            help,
            labelNames: ["resource", label],
            registers: [this.registry],
            collect() {
                for (const [resource, source] of sources()) {
                    for (const value of values)
                        this.labels(resource, value).set(isSet(source, value) ? 1 : 0);
                }
            },
        });
    }
}
//# sourceMappingURL=metric-factory.js.map