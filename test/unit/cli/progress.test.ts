/**
 * The pieces of marsadm's progress lines (src/cli/progress.ts): bars of an
 * exact width, percentages that never claim 100% early, rates from two
 * samples (unknown rather than wrong), remaining times, and the bar width
 * a terminal width allows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_BAR_COLS,
  MIN_BAR_COLS,
  bar,
  barColsFor,
  etaSeconds,
  hms,
  percent,
  progressLine,
  rateBytesPerSec,
} from "../../../src/cli/progress.js";

const MIB = 1024 * 1024;

describe("progress bars", () => {
  it("draws a bar of exactly the width asked, filled in proportion", () => {
    assert.equal(bar(0, 100, 12), "[>.........]");
    assert.equal(bar(50, 100, 12), "[=====>....]");
    assert.equal(bar(100, 100, 12), "[==========]");
    assert.equal(bar(99, 100, 12), "[=========>]");
    for (const w of [3, 10, 17, 40]) {
      for (const done of [0, 1, 33, 99, 100, 150]) assert.equal(bar(done, 100, w).length, w);
    }
  });

  it("treats an empty total as nothing done in the bar and done in the percentage", () => {
    assert.equal(bar(0, 0, 10), "[>.......]");
    assert.equal(percent(0, 0), "100.0%");
  });

  it("never shows 100% before the end", () => {
    assert.equal(percent(MIB - 1, MIB), "99.9%");
    assert.equal(percent(MIB, MIB), "100.0%");
    assert.equal(percent(MIB / 3, MIB), "33.3%");
  });

  it("computes a rate only from two samples of a growing counter", () => {
    assert.equal(rateBytesPerSec(undefined, { atMs: 1000, bytes: MIB }), undefined);
    assert.equal(rateBytesPerSec({ atMs: 1000, bytes: 0 }, { atMs: 1500, bytes: 2 * MIB }), 4 * MIB);
    assert.equal(rateBytesPerSec({ atMs: 1000, bytes: 0 }, { atMs: 1000, bytes: MIB }), undefined);
    // A counter that went back (a new sync started) has no rate yet.
    assert.equal(rateBytesPerSec({ atMs: 1000, bytes: 2 * MIB }, { atMs: 2000, bytes: MIB }), undefined);
    assert.equal(rateBytesPerSec({ atMs: 1000, bytes: MIB }, { atMs: 2000, bytes: MIB }), 0);
  });

  it("gives a remaining time only for a known, positive rate", () => {
    assert.equal(etaSeconds(10 * MIB, 4 * MIB), 3);
    assert.equal(etaSeconds(0, undefined), 0);
    assert.equal(etaSeconds(MIB, 0), undefined);
    assert.equal(etaSeconds(MIB, undefined), undefined);
    assert.equal(hms(undefined), "--:--:--");
    assert.equal(hms(0), "00:00:00");
    assert.equal(hms(2584), "00:43:04");
    assert.equal(hms(360_000), "100:00:00");
  });

  it("sizes the bar to the terminal within its bounds", () => {
    assert.equal(barColsFor(20), MIN_BAR_COLS);
    assert.equal(barColsFor(1000), MAX_BAR_COLS);
    const mid = barColsFor(100);
    assert.ok(mid > MIN_BAR_COLS && mid < MAX_BAR_COLS, String(mid));
    // A line at a width that holds it fits in it.
    for (const cols of [100, 120, 200]) {
      const line = progressLine(
        { label: "sync", doneBytes: 5 * MIB, totalBytes: 16 * MIB, rate: 4 * MIB, eta: 3 },
        cols,
      );
      assert.ok(line.length <= cols, `${line.length} > ${cols}: ${line}`);
    }
  });

  it("writes a MARS-like progress line", () => {
    const line = progressLine(
      { label: "sync", doneBytes: 8 * MIB, totalBytes: 16 * MIB, rate: 4 * MIB, eta: 2 },
      80,
    );
    assert.equal(line, `      sync:    [====>...]  50.0% 8.0 MiB/16.0 MiB rate 4.0 MiB/s remaining 00:00:02`);
    assert.match(
      progressLine({ label: "fetch", doneBytes: 0, totalBytes: MIB, rate: undefined, eta: undefined }, 80),
      /fetch: +\[>\.+\] +0\.0% 0 B\/1\.0 MiB rate \? remaining --:--:--$/,
    );
  });
});
