/**
 * How busy the machine's CPUs were during part of a run, from the first line of /proc/stat sampled
 * while it goes on. A ratio of two routes on shared cores reads as "what the gateway's CPU takes
 * from the broker and the producer beside it" only while the cores are saturated; this says
 * whether they were. Linux only: elsewhere there is nothing to sample and the share is NaN.
 */
import { readFileSync } from 'node:fs';

interface Sample {
  at: number;
  busy: number;
  total: number;
}

function sample(): Sample | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in clock ticks over
  // all CPUs; guest time is already counted in user, so the first eight make the total.
  const ticks = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) return null;
  const total = ticks.reduce((sum, n) => sum + n, 0);
  return { at: performance.now(), busy: total - ticks[3] - ticks[4], total };
}

export class BusySampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Samples now and every `intervalMs` until stop(). */
  start(intervalMs = 200): this {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): this {
    clearInterval(this.timer);
    this.take();
    return this;
  }

  /**
   * The busy share (0-1) of all CPUs between `from` and `to`, fractions of the sampled time (0.5
   * to 1 is the second half), from the samples nearest inside them; NaN when fewer than two fall
   * in it.
   */
  busyShare(from: number, to: number): number {
    const { samples } = this;
    if (samples.length < 2) return NaN;
    const first = samples[0].at;
    const span = samples[samples.length - 1].at - first;
    const inside = samples.filter((s) => s.at >= first + from * span && s.at <= first + to * span);
    if (inside.length < 2) return NaN;
    const start = inside[0];
    const end = inside[inside.length - 1];
    if (end.total === start.total) return NaN;
    return (end.busy - start.busy) / (end.total - start.total);
  }

  private take(): void {
    const now = sample();
    if (now !== null) this.samples.push(now);
  }
}
