export class StatePusher {
    deps;
    lastPushedUs = 0;
    scheduled = false;
    pushing;
    constructor(deps) {
        this.deps = deps;
    }
    /** Our own entries newer than `basisUs`, with the stamp they bring the receiver up to. */
    payload(basisUs) {
        const entries = this.deps.state.ownEntriesAfter(basisUs);
        const upToUs = entries.reduce((max, e) => Math.max(max, e.stampUs), basisUs);
        return { basisUs, upToUs, entries };
    }
    /** Coalesces local changes into one push to every member. */
    schedule() {
        if (this.scheduled || this.deps.stopped())
            return;
        this.scheduled = true;
        queueMicrotask(() => {
            void this.run();
        });
    }
    /** Resolves when the push under way (if any) ended. */
    async settled() {
        await this.pushing?.catch(() => undefined);
    }
    /** After leaving the cluster: the next cluster gets everything again. */
    reset() {
        this.lastPushedUs = 0;
    }
    async run() {
        while (this.pushing)
            await this.pushing.catch(() => undefined);
        this.scheduled = false;
        if (!this.deps.inCluster() || this.deps.stopped())
            return;
        const payload = this.payload(this.lastPushedUs);
        if (payload.entries.length === 0)
            return;
        this.lastPushedUs = payload.upToUs;
        const links = this.deps.links();
        this.pushing = (async () => {
            let next = 0;
            const worker = async () => {
                while (next < links.length) {
                    const link = links[next++];
                    await link.push(payload).catch(() => undefined);
                }
            };
            await Promise.all(Array.from({ length: Math.min(this.deps.pushConcurrency, links.length) }, worker));
        })();
        try {
            await this.pushing;
        }
        finally {
            this.pushing = undefined;
        }
    }
}
//# sourceMappingURL=state-pusher.js.map