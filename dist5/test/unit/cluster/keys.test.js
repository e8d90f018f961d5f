import assert from "node:assert/strict";
import { test } from "node:test";
import { Keys, keyOwnership, mayWrite } from "../../../src/cluster/keys.js";
test("owned keys can be written only by the host they name", () => {
    assert.deepEqual(keyOwnership("node/alpha/address"), { kind: "owned", host: "alpha" });
    assert.equal(mayWrite("node/alpha/address", "alpha"), true);
    assert.equal(mayWrite("node/alpha/address", "beta"), false);
    const member = Keys.resourceHost("r0", "beta", "member");
    assert.equal(mayWrite(member, "beta"), true);
    assert.equal(mayWrite(member, "alpha"), false);
});
test("shared keys can be written by any member", () => {
    for (const key of [Keys.resourcePrimary("r0"), Keys.resourceConfig("r0"), Keys.removed("gamma")]) {
        assert.deepEqual(keyOwnership(key), { kind: "shared" });
        assert.equal(mayWrite(key, "alpha"), true);
    }
});
test("keys outside the schema are refused", () => {
    for (const key of [
        "",
        "foo",
        "node/Alpha/address",
        "node/alpha",
        "resource/r0/other",
        "../etc/passwd",
        "x".repeat(600),
    ]) {
        assert.equal(keyOwnership(key), undefined, key);
        assert.equal(mayWrite(key, "alpha"), false, key);
    }
});
//# sourceMappingURL=keys.test.js.map