export class NbdExports {
    volumes = new Map();
    lookupExport(name) {
        return this.volumes.get(name);
    }
    listExports() {
        return [...this.volumes.keys()].sort();
    }
    add(volume) {
        this.volumes.set(volume.name, volume);
    }
    remove(name) {
        this.volumes.delete(name);
    }
}
export class NbdFrontend {
    server;
    exports;
    kind = "nbd";
    constructor(server, exports) {
        this.server = server;
        this.exports = exports;
    }
    attach(volume) {
        this.exports.add(volume);
        return Promise.resolve(this.device(volume.name));
    }
    async detach(name) {
        this.exports.remove(name);
        await this.server.closeExport(name);
    }
    device(name) {
        if (!this.exports.lookupExport(name))
            return undefined;
        const uris = this.server.uris(name);
        return { kind: "nbd", export: name, uri: uris.unix, ...(uris.tcp ? { tcpUri: uris.tcp } : {}) };
    }
}
//# sourceMappingURL=nbd-frontend.js.map