import { MarsError } from "../util/errors.js";
export class CronSyntaxError extends MarsError {
    constructor(expression, reason) {
        super("CRON_SYNTAX", `"${expression}" is not a cron expression: ${reason}`);
    }
}
const NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
};
const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FULL_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const FULL_DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const SECOND = { name: "second", min: 0, max: 59 };
const MINUTE = { name: "minute", min: 0, max: 59 };
const HOUR = { name: "hour", min: 0, max: 23 };
const DAY_OF_MONTH = { name: "day of month", min: 1, max: 31 };
const MONTH = { name: "month", min: 1, max: 12, names: [MONTH_NAMES, FULL_MONTH_NAMES] };
/** 7 is accepted as Sunday and folded onto 0 after parsing. */
const DAY_OF_WEEK = { name: "day of week", min: 0, max: 7, names: [DAY_NAMES, FULL_DAY_NAMES] };
/** Parses an expression; throws CronSyntaxError. */
export function parseCron(expression) {
    const fail = (reason) => {
        throw new CronSyntaxError(expression, reason);
    };
    const resolved = NICKNAMES[expression.trim().toLowerCase()] ?? expression;
    const fields = resolved.trim().split(/\s+/);
    if (fields.length === 5)
        fields.unshift("0");
    if (fields.length !== 6)
        fail("it needs 5 fields (minute hour day-of-month month day-of-week) or 6");
    const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields;
    const weekdays = parseField(dayOfWeek === "?" ? "*" : dayOfWeek, DAY_OF_WEEK, fail);
    if (weekdays[7])
        weekdays[0] = true;
    const schedule = {
        expression,
        second: parseField(second, SECOND, fail),
        minute: parseField(minute, MINUTE, fail),
        hour: parseField(hour, HOUR, fail),
        dayOfMonth: parseField(dayOfMonth === "?" ? "*" : dayOfMonth, DAY_OF_MONTH, fail),
        month: parseField(month, MONTH, fail),
        dayOfWeek: weekdays.slice(0, 7),
    };
    if (!hasSomeDay(schedule))
        fail("it never occurs (no month has such a day)");
    return schedule;
}
/** Whether `expression` parses (the config's check). */
export function isValidCron(expression) {
    try {
        parseCron(expression);
        return true;
    }
    catch (err) {
        if (err instanceof CronSyntaxError)
            return false;
        throw err;
    }
}
function parseField(text, spec, fail) {
    const values = new Array(spec.max + 1).fill(false);
    for (const item of text.split(",")) {
        const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
        if (!m)
            fail(`${spec.name} "${item}" is not *, N, A-B or one of those /STEP`);
        const [, range, stepText] = m;
        const step = stepText === undefined ? 1 : Number(stepText);
        if (step < 1)
            fail(`${spec.name} step must be at least 1`);
        let first;
        let last;
        if (range === "*") {
            first = spec.min;
            last = spec.name === DAY_OF_WEEK.name ? 6 : spec.max;
        }
        else {
            const [a, b] = range.split("-");
            // "5/10" is refused, as node-cron refused it.
            if (b === undefined && stepText !== undefined)
                fail(`${spec.name} "${item}": a step needs * or a range`);
            first = fieldValue(a, spec, fail);
            last = b === undefined ? first : fieldValue(b, spec, fail);
        }
        // A range whose end is below its start wraps round ("22-2" hours, "fri-mon").
        const size = spec.max - spec.min + 1;
        const span = (((last - first) % size) + size) % size;
        for (let offset = 0; offset <= span; offset += step) {
            let value = first + offset;
            if (value > spec.max)
                value -= size;
            values[value] = true;
        }
    }
    return values;
}
function fieldValue(text, spec, fail) {
    if (/^\d+$/.test(text)) {
        const n = Number(text);
        if (n < spec.min || n > spec.max)
            fail(`${spec.name} ${n} is outside ${spec.min}..${spec.max}`);
        return n;
    }
    const lower = text.toLowerCase();
    for (const names of spec.names ?? []) {
        const index = names.indexOf(lower);
        if (index >= 0)
            return spec.min + index;
    }
    return fail(`${spec.name} "${text}" is not a number${spec.names ? " or name" : ""}`);
}
/** Days in each month of a leap year: the most a month can have. */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function hasSomeDay(s) {
    for (let month = 1; month <= 12; month++) {
        if (!s.month[month])
            continue;
        for (let day = 1; day <= MAX_DAYS_IN_MONTH[month - 1]; day++)
            if (s.dayOfMonth[day])
                return true;
    }
    return false;
}
/**
 * Searched at most this far ahead: Feb 29th on a given weekday recurs
 * within 28 years, so any schedule that occurs at all occurs within it.
 */
const SEARCH_YEARS = 29;
/**
 * The first whole second strictly after `afterMs` (wall time, ms since the
 * epoch) that matches, in local time; undefined if none within SEARCH_YEARS
 * (a leap-day schedule whose weekday never comes up).
 */
export function nextOccurrenceMs(schedule, afterMs) {
    const d = new Date(afterMs);
    d.setMilliseconds(0);
    d.setSeconds(d.getSeconds() + 1);
    const limitYear = d.getFullYear() + SEARCH_YEARS;
    // Each step either returns or moves to the start of the next candidate
    // unit, so the loop ends: by the year limit at the latest.
    while (d.getFullYear() <= limitYear) {
        if (!schedule.month[d.getMonth() + 1]) {
            d.setMonth(d.getMonth() + 1, 1);
            d.setHours(0, 0, 0, 0);
        }
        else if (!schedule.dayOfMonth[d.getDate()] || !schedule.dayOfWeek[d.getDay()]) {
            d.setDate(d.getDate() + 1);
            d.setHours(0, 0, 0, 0);
        }
        else if (!schedule.hour[d.getHours()]) {
            d.setHours(d.getHours() + 1, 0, 0, 0);
        }
        else if (!schedule.minute[d.getMinutes()]) {
            d.setMinutes(d.getMinutes() + 1, 0, 0);
        }
        else if (!schedule.second[d.getSeconds()]) {
            d.setSeconds(d.getSeconds() + 1, 0);
        }
        else {
            return d.getTime();
        }
    }
    return undefined;
}
/** Node's timers overflow beyond this delay (2^31 - 1 ms, ~24.8 days); longer waits are chained. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** A timer that fires this much before its occurrence (wall clock stepped back) waits again instead of running. */
const EARLY_TOLERANCE_MS = 1_000;
/**
 * Runs `job` at every occurrence of `schedule` until stopped. A job's
 * rejection is the caller's to handle inside `job` (it is awaited only to
 * know when the run ended).
 */
export function scheduleCron(time, schedule, job) {
    let timer;
    let stopped = false;
    const arm = (afterMs) => {
        if (stopped)
            return;
        const occurrenceMs = nextOccurrenceMs(schedule, afterMs);
        if (occurrenceMs === undefined)
            return;
        waitFor(occurrenceMs);
    };
    const waitFor = (occurrenceMs) => {
        const delayMs = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, occurrenceMs - time.nowMs()));
        timer = time
            .setTimer(delayMs, () => {
            timer = undefined;
            if (stopped)
                return;
            if (time.nowMs() + EARLY_TOLERANCE_MS < occurrenceMs) {
                waitFor(occurrenceMs);
                return;
            }
            void job()
                .catch(() => undefined)
                .finally(() => arm(Math.max(time.nowMs(), occurrenceMs)));
        })
            .unref();
    };
    arm(time.nowMs());
    return {
        stop() {
            stopped = true;
            timer?.cancel();
            timer = undefined;
        },
    };
}
//# sourceMappingURL=cron.js.map