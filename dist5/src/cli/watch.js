import { renderView } from "./view-render.js";
const CSI = "\x1b[";
export const HIDE_CURSOR = `${CSI}?25l`;
export const SHOW_CURSOR = `${CSI}?25h`;
/** Home and clear: after a resize the terminal may have re-wrapped the old frame anywhere above. */
const CLEAR_SCREEN = `${CSI}H${CSI}J`;
/**
 * What to write to replace the previous frame (`previousRows` lines
 * written by the last call) by `lines` on a terminal of `rows` rows.
 * Returns the text and how many rows it occupies.
 */
export function redraw(previousRows, lines, rows) {
    // The last row stays free: writing into it would scroll the screen.
    const room = Math.max(1, rows - 1);
    const shown = lines.length <= room
        ? lines
        : [...lines.slice(0, room - 1), `... ${lines.length - room + 1} more lines (enlarge the terminal)`];
    const up = previousRows > 0 ? `\r${CSI}${previousRows}A` : "";
    return { text: `${up}${shown.map((l) => `${l}${CSI}K\n`).join("")}${CSI}J`, rows: shown.length };
}
function timeOfDay(ms) {
    return new Date(ms).toISOString().slice(11, 19);
}
/** Runs until a signal ends the process. */
export async function watchView(o) {
    const tty = o.out.isTTY === true;
    let previous;
    let entries = [];
    let header = "";
    let rowsOnScreen = 0;
    const draw = (sampleNow) => {
        // One column short: a line filling the last column leaves the cursor in the
        // pending-wrap state, where some terminals' clear-to-end-of-line erases that column.
        const widthCols = tty ? Math.max(1, o.out.columns - 1) : undefined;
        const rendered = renderView(entries, sampleNow ? previous : undefined, widthCols, o.time.nowMs());
        // A redraw after a resize keeps the sample the rates compare with.
        if (sampleNow)
            previous = rendered.sample;
        const lines = [header, "", ...rendered.lines].map((l) => widthCols && l.length > widthCols ? l.slice(0, widthCols) : l);
        if (!tty) {
            o.out.write(`${lines.join("\n")}\n\n`);
            return;
        }
        const frame = redraw(rowsOnScreen, lines, o.out.rows);
        rowsOnScreen = frame.rows;
        o.out.write(frame.text);
    };
    const end = () => {
        if (tty)
            o.out.write(SHOW_CURSOR);
        process.exit(0);
    };
    process.once("SIGINT", end);
    process.once("SIGTERM", end);
    // A reader that went away (`view all --watch | head`) ends the watch like Ctrl-C.
    o.out.on("error", end);
    if (tty) {
        o.out.write(HIDE_CURSOR);
        o.out.on("resize", () => {
            o.out.write(CLEAR_SCREEN);
            rowsOnScreen = 0;
            draw(false);
        });
    }
    for (;;) {
        const atMs = o.time.nowMs();
        header = `Every ${(o.intervalMs / 1000).toFixed(1)}s: ${o.title}  ${timeOfDay(atMs)}  (Ctrl-C ends)`;
        try {
            entries = await o.read();
        }
        catch (err) {
            entries = [{ name: "(daemon)", readError: err.message }];
        }
        draw(true);
        await o.time.sleep(o.intervalMs);
    }
}
//# sourceMappingURL=watch.js.map