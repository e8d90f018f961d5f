import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "commander";
import { parseSize } from "../../../src/cli/resize-verb.js";
describe("marsadm resize: sizes", () => {
    it("reads bytes and binary suffixes", () => {
        assert.equal(parseSize("4194304"), 4194304);
        assert.equal(parseSize("64M"), 64 * 1024 * 1024);
        assert.equal(parseSize("2g"), 2 * 1024 ** 3);
        assert.equal(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
        assert.equal(parseSize("1T"), 1024 ** 4);
    });
    it("refuses what is not a whole number of bytes", () => {
        for (const bad of ["", "abc", "-1", "1.5", "0.1k", "12X"]) {
            assert.throws(() => parseSize(bad), InvalidArgumentError, bad);
        }
    });
});
//# sourceMappingURL=resize-verb.test.js.map