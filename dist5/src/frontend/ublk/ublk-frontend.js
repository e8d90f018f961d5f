import { DEFAULT_UBLK_OPTIONS, UblkDevice, validateUblkOptions } from "./device.js";
import { UNOBSERVED } from "./observer.js";
export class UblkFrontend {
    addon;
    logger;
    time;
    storage;
    random;
    options;
    observerFor;
    kind = "ublk";
    devices = new Map();
    /** Attaches in progress, so a second attach of the same volume waits for the first. */
    attaching = new Map();
    constructor(addon, logger, time, storage, random, options = DEFAULT_UBLK_OPTIONS, 
    /** The observer of each resource's device (the daemon's metrics). */
    observerFor = () => UNOBSERVED) {
        this.addon = addon;
        this.logger = logger;
        this.time = time;
        this.storage = storage;
        this.random = random;
        this.options = options;
        this.observerFor = observerFor;
        validateUblkOptions(options);
    }
    async attach(volume, stateDir) {
        const existing = this.devices.get(volume.name);
        if (existing)
            return this.describe(existing);
        let pending = this.attaching.get(volume.name);
        if (!pending) {
            pending = UblkDevice.attach({
                addon: this.addon,
                volume,
                stateDir,
                options: this.options,
                logger: this.logger,
                time: this.time,
                storage: this.storage,
                random: this.random,
                observer: this.observerFor(volume.name),
            });
            this.attaching.set(volume.name, pending);
        }
        try {
            const device = await pending;
            this.devices.set(volume.name, device);
            return this.describe(device);
        }
        finally {
            this.attaching.delete(volume.name);
        }
    }
    async detach(name) {
        // A detach racing an attach removes what the attach produces.
        const pending = this.attaching.get(name);
        if (pending)
            await pending.catch(() => undefined);
        const device = this.devices.get(name);
        if (!device)
            return;
        this.devices.delete(name);
        await device.remove();
    }
    device(name) {
        const device = this.devices.get(name);
        return device ? this.describe(device) : undefined;
    }
    describe(device) {
        return { kind: "ublk", path: device.path, deviceId: device.devId };
    }
}
//# sourceMappingURL=ublk-frontend.js.map