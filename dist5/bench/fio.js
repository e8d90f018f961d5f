/**
 * Runs one fio job against an NBD URI (fio --ioengine=nbd, libnbd inside
 * fio) and extracts the figures the benchmark compares.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
const run = promisify(execFile);
export async function runFio(uri, workload, options) {
    const args = [
        "--output-format=json",
        "--name=bench",
        "--ioengine=nbd",
        `--uri=${uri}`,
        `--rw=${workload.rw}`,
        `--bs=${workload.blockBytes}`,
        `--iodepth=${workload.iodepth}`,
        `--size=${options.sizeBytes}`,
        "--time_based=1",
        `--runtime=${options.runtimeS}`,
        `--ramp_time=${options.rampS}`,
        "--randrepeat=0",
        "--norandommap=1",
    ];
    if (workload.fsyncEvery)
        args.push(`--fsync=${workload.fsyncEvery}`);
    if (workload.jobs && workload.jobs > 1)
        args.push(`--numjobs=${workload.jobs}`, "--group_reporting=1");
    const { stdout } = await run("fio", args, { maxBuffer: 64 * 1024 * 1024 });
    // fio may print notices before the JSON document.
    const json = JSON.parse(stdout.slice(stdout.indexOf("{")));
    const job = json.jobs[0];
    if (!job)
        throw new Error("fio reported no job");
    const side = workload.rw === "randread" || workload.rw === "read" ? job.read : job.write;
    return { iops: side.iops, bandwidthBytesPerS: side.bw_bytes, meanLatencyUs: side.lat_ns.mean / 1000 };
}
//# sourceMappingURL=fio.js.map