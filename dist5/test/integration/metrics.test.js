/**
 * GET /metrics of a real daemon after real IO: `promtool check metrics`
 * accepts it (names, types, units), and the metrics are there with
 * values that moved.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startNodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run } from "../helpers/tools.js";
/** Value of one sample, matched by name and a label subset. */
function sample(text, name, labels = {}) {
    for (const line of text.split("\n")) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `))
            continue;
        const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!m)
            continue;
        const have = new Map([...(m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have.get(k) === v))
            return Number(m[2]);
    }
    return undefined;
}
describe("Prometheus metrics", () => {
    let node;
    let promtool = "";
    before(async () => {
        promtool = requireTool("promtool");
        requireTool("qemu-io");
        node = await startNodeWithVolume({ sizeBytes: 16 * 1024 * 1024 });
    });
    after(() => node?.daemon.cleanup());
    const scrape = async () => (await fetch(`${node.daemon.adminUrl}/metrics`)).text();
    it("passes promtool check metrics and reports the log, apply and NBD figures after IO", async () => {
        await run(requireTool("qemu-io"), [
            "-f",
            "raw",
            node.uri,
            "-c",
            "write -P 0x11 0 1M",
            "-c",
            "aio_flush",
            "-c",
            "read -P 0x11 0 1M",
            "-c",
            "write -z 2M 64k",
        ]);
        const r0 = { resource: "r0" };
        const text = await waitFor("the applied position to reach the durable one", async () => {
            const t = await scrape();
            const applied = sample(t, "marsd_resource_applied_position_bytes", r0) ?? 0;
            const durable = sample(t, "marsd_log_durable_position_bytes", r0) ?? -1;
            return applied === durable && applied > 1024 * 1024 ? t : undefined;
        });
        const lint = await run(promtool, ["check", "metrics"], { input: text });
        assert.equal(lint.stdout.trim(), "", `promtool complaints:\n${lint.stdout}${lint.stderr}`);
        const expectations = [
            ["marsd_log_appended_bytes_total", r0, (v) => v > 1024 * 1024],
            ["marsd_log_appended_records_total", r0, (v) => v >= 2],
            ["marsd_log_fsync_duration_seconds_count", r0, (v) => v >= 1],
            ["marsd_log_fsync_duration_seconds_sum", r0, (v) => v > 0],
            ["marsd_log_batch_records_count", r0, (v) => v >= 1],
            ["marsd_log_batch_records_sum", r0, (v) => v >= 2],
            ["marsd_log_batch_bytes_sum", r0, (v) => v > 1024 * 1024],
            ["marsd_log_pending_limit_bytes", r0, (v) => v > 0],
            ["marsd_resource_applied_position_bytes", r0, (v) => v > 1024 * 1024],
            ["marsd_resource_size_bytes", r0, (v) => v === 16 * 1024 * 1024],
            ["marsd_resource_apply_backlog_bytes", r0, (v) => v === 0],
            ["marsd_resource_apply_backlog_limit_bytes", r0, (v) => v > 0],
            ["marsd_resource_apply_direct_io", r0, (v) => v === 1],
            ["marsd_resource_failed", r0, (v) => v === 0],
            ["marsd_nbd_requests_total", { ...r0, command: "write" }, (v) => v >= 1],
            ["marsd_nbd_requests_total", { ...r0, command: "read" }, (v) => v >= 1],
            ["marsd_nbd_requests_total", { ...r0, command: "write_zeroes" }, (v) => v >= 1],
            ["marsd_nbd_requests_total", { ...r0, command: "flush" }, (v) => v >= 1],
            ["marsd_nbd_request_bytes_total", { ...r0, command: "write" }, (v) => v === 1024 * 1024],
            ["marsd_nbd_request_bytes_total", { ...r0, command: "read" }, (v) => v >= 1024 * 1024],
            ["marsd_nbd_request_duration_seconds_count", { command: "write" }, (v) => v >= 1],
            ["marsd_nbd_request_duration_seconds_bucket", { command: "write", le: "+Inf" }, (v) => v >= 1],
            ["marsd_build_info", {}, (v) => v === 1],
        ];
        for (const [name, labels, ok] of expectations) {
            const value = sample(text, name, labels);
            assert.ok(value !== undefined, `${name}${JSON.stringify(labels)} is missing`);
            assert.ok(ok(value), `${name}${JSON.stringify(labels)} = ${value}`);
        }
        assert.match(text, /^# TYPE marsd_log_fsync_duration_seconds histogram$/m);
        assert.match(text, /^# TYPE marsd_log_appended_bytes_total counter$/m);
        assert.match(text, /^marsd_build_info\{version="[^"]+",commit="[^"]+",node_version="v\d+/m);
    });
    it("fails promtool on a broken exposition (the lint is real)", async () => {
        const broken = "# TYPE marsd_bad_total gauge\nmarsd_bad_total 1\n";
        await assert.rejects(run(promtool, ["check", "metrics"], { input: broken }), /counter|total/i);
    });
});
//# sourceMappingURL=metrics.test.js.map