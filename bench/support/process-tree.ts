/**
 * CPU time and peak memory of a process together with all its descendants. The gateway's CLI
 * relaunches itself with a heap flag and runs the gateway (and, with `workers`, the cluster's
 * workers) as children of a small launcher, so the pid a benchmark spawns is not where the work
 * happens: only the whole tree gives the gateway's figures.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** The fields of /proc/PID/stat after the command name, or null for a process that is gone. */
function statFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may itself contain spaces and parentheses: the last ')' ends it.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** `pid` and every process below it, parents before their children. */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // Field 4 of /proc/PID/stat, the second after the command name.
    const parent = fields === null ? NaN : Number(fields[1]);
    if (Number.isNaN(parent)) continue;
    const siblings = children.get(parent);
    if (siblings === undefined) children.set(parent, [Number(entry)]);
    else siblings.push(Number(entry));
  }
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.shift()!;
    tree.push(next);
    pending.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** Seconds since `pid` started (what `ps -o etimes` says), or NaN for a process that is gone. */
export function processAgeSeconds(pid: number): number {
  const fields = statFields(pid);
  if (fields === null) return NaN;
  // Field 22 of /proc/PID/stat: the start, in clock ticks after boot; the first of /proc/uptime: now.
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return uptime - Number(fields[19]) / CLOCK_TICKS;
}

/** CPU seconds (utime + stime) used so far by `pid` and its descendants; a vanished process counts 0. */
export function processTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of treeOf(pid)) {
    const fields = statFields(member);
    // Fields 14 and 15 of /proc/PID/stat.
    if (fields !== null) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/**
 * CPU seconds of this process's children that have exited and been waited for, theirs and their
 * own waited-for descendants' (cutime + cstime). Its growth over a command this process ran to
 * its end is that command's CPU, a JVM it started included, when nothing else exited meanwhile.
 */
export function exitedChildrenCpuSeconds(): number {
  const fields = statFields(process.pid);
  // Fields 16 and 17 of /proc/PID/stat.
  return fields === null ? NaN : (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Peak resident set sizes (VmHWM) of `pid` and its descendants, summed, in MiB. */
export function processTreePeakRssMiB(pid: number): number {
  let kib = 0;
  for (const member of treeOf(pid)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${member}/status`, 'utf8');
    } catch {
      continue;
    }
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match !== null) kib += Number(match[1]);
  }
  return kib / 1024;
}
