// Relay cost from /proc: CPU = utime + stime (fields 14 and 15 of /proc/<pid>/stat, in clock ticks),
// RSS from /proc/<pid>/status (VmRSS, kB). Linux only, like the bench's target machine.
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`, asked once (100 on practically every Linux, but not guaranteed). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = Bun.spawnSync(["getconf", "CLK_TCK"]);
    const n = Number(r.stdout.toString().trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return null;
  }
}

/** Resident set size in MB; null when the process is gone. */
export function rssMB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Direct and indirect children of `pid` (from /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim();
        for (const k of kids === "" ? [] : kids.split(" ")) {
          out.push(Number(k));
          visit(Number(k));
        }
      } catch {
        // the thread ended meanwhile
      }
    }
  };
  visit(pid);
  return out;
}

/** Resident memory of the process and everything it started, MB; null when the process is gone. */
export function rssTreeMB(pid: number): number | null {
  const own = rssMB(pid);
  if (own === null) return null;
  let total = own;
  for (const c of descendants(pid)) total += rssMB(c) ?? 0;
  return total;
}
