/**
 * The in-place redraw of `marsadm view --watch` (src/cli/watch.ts): a frame
 * moves the cursor up over exactly the rows the previous one wrote, clears
 * each line's rest and everything below, and a frame taller than the
 * terminal is cut so that cursor-up never has to leave the screen. (The
 * whole loop, in a real terminal, is test/integration/marsadm-watch.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redraw } from "../../../src/cli/watch.js";
const ESC = "\x1b[";
describe("view --watch redraw", () => {
    it("writes the first frame where the cursor is", () => {
        const f = redraw(0, ["a", "b"], 24);
        assert.equal(f.text, `a${ESC}K\nb${ESC}K\n${ESC}J`);
        assert.equal(f.rows, 2);
    });
    it("moves up over the previous frame's rows and clears what it leaves", () => {
        const f = redraw(3, ["x"], 24);
        assert.equal(f.text, `\r${ESC}3Ax${ESC}K\n${ESC}J`);
        assert.equal(f.rows, 1);
    });
    it("cuts a frame taller than the terminal and says so", () => {
        const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
        const f = redraw(0, lines, 10);
        // The last row stays free: writing there would scroll.
        assert.equal(f.rows, 9);
        const shown = f.text.split("\n").slice(0, -1);
        assert.equal(shown.length, 9);
        assert.equal(shown[8], `... 22 more lines (enlarge the terminal)${ESC}K`);
        assert.equal(redraw(f.rows, lines, 10).text.startsWith(`\r${ESC}9A`), true);
    });
});
//# sourceMappingURL=watch.test.js.map