import { OperatorError } from "../util/errors.js";
/** Resolves when `done()` holds, checked whenever `emitter` emits "changed". */
export function waitForChange(emitter, time, done, timeoutMs, what) {
    return new Promise((resolve, reject) => {
        if (done())
            return resolve();
        const timer = time.setTimer(timeoutMs, () => {
            emitter.off("changed", check);
            reject(new OperatorError("WAIT_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${what}`));
        });
        const check = () => {
            if (done()) {
                timer.cancel();
                emitter.off("changed", check);
                resolve();
            }
        };
        emitter.on("changed", check);
    });
}
//# sourceMappingURL=wait-for.js.map