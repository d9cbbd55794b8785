// A campaign's calling window: the days and hours it may dial, in its own time zone, read with Intl (no time zone
// database of our own). A call in progress when the window closes finishes; only new attempts wait.
import { DAYS, type CallingWindow, type Day } from "./store.ts";

export const DEFAULT_TIMEZONE = "Africa/Nairobi";

const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formats.set(timeZone, f);
  }
  return f;
}

const WEEKDAY: Record<string, Day> = { Mon: "mon", Tue: "tue", Wed: "wed", Thu: "thu", Fri: "fri", Sat: "sat", Sun: "sun" };

/** "HH:MM" (00:00 to 24:00) → minutes of the day; undefined when it is not one. */
export function minutesOf(hhmm: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hhmm);
  if (m === null) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v > 24 * 60 ? undefined : v;
}

/** The weekday and minute of the day at `now` in `timeZone`. */
export function localTime(now: number, timeZone: string): { day: Day; minute: number } {
  let day: Day = "mon";
  let hour = 0;
  let minute = 0;
  for (const p of format(timeZone).formatToParts(new Date(now))) {
    if (p.type === "weekday") day = WEEKDAY[p.value] ?? "mon";
    else if (p.type === "hour") hour = Number(p.value) % 24;
    else if (p.type === "minute") minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** May the campaign start an attempt at `now`? From `from` (inclusive) to `to` (exclusive), on its days. */
export function inWindow(w: CallingWindow, now: number): boolean {
  const t = localTime(now, w.timezone);
  if (!w.days.includes(t.day)) return false;
  const from = minutesOf(w.from) ?? 0;
  const to = minutesOf(w.to) ?? 24 * 60;
  return t.minute >= from && t.minute < to;
}

/** Every day, all day, in the default time zone. */
export function alwaysOpen(timezone = DEFAULT_TIMEZONE): CallingWindow {
  return { days: [...DAYS], from: "00:00", to: "24:00", timezone };
}
