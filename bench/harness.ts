/**
 * Timing for the benchmarks. The machine is shared (2 cores, other engineers' test runs), so absolute
 * times wander; what holds is the ratio between contenders measured in one process, interleaved round by
 * round on the same inputs. Each contender gets a warm-up, then `rounds` timed passes in rotating order;
 * the figure is the median pass, which shrugs off a pass that a neighbour's burst slowed down.
 */
import { performance } from 'node:perf_hooks';

/** A contender: `run` does `ops` operations per call (one pass over the inputs). */
export interface Contender {
  readonly name: string;
  readonly run: () => unknown;
  readonly ops: number;
}

export interface Measured {
  readonly name: string;
  /** Median nanoseconds per operation. */
  readonly nsPerOp: number;
  /** Fastest pass, for the record. */
  readonly bestNsPerOp: number;
  /**
   * Median over rounds of (this contender's time / the first contender's time in the same round): the
   * ratio least disturbed by load that comes and goes, since the two passes ran moments apart.
   */
  readonly vsFirst: number;
  readonly passes: number;
}

export interface CompareOptions {
  /** Timed passes per contender. @default 15 */
  readonly rounds?: number;
  /** Untimed passes per contender first, so every contender is optimized before timing. @default 3 */
  readonly warmup?: number;
  /** A pass repeats `run` until it lasts at least this long, so scheduler noise is small against it. @default 25 */
  readonly minPassMs?: number;
}

/** Keeps results observable so the optimizer cannot drop the work being timed. */
export let sink = 0;

export function consume(value: unknown): void {
  if (value === true) sink += 1;
  else if (typeof value === 'number') sink += value;
  else if (value !== undefined && value !== null && value !== false) sink += 1;
}

export async function compare(
  contenders: readonly Contender[],
  options: CompareOptions = {},
): Promise<Measured[]> {
  const rounds = options.rounds ?? 15;
  const warmup = options.warmup ?? 3;
  const minPassMs = options.minPassMs ?? 25;
  const repeats = contenders.map(() => 1);
  for (let i = 0; i < warmup; i++) {
    for (const [index, contender] of contenders.entries()) {
      const start = performance.now();
      await settle(contender.run());
      const elapsed = performance.now() - start;
      repeats[index] = Math.max(repeats[index] as number, Math.ceil(minPassMs / Math.max(elapsed, 0.01)));
    }
  }
  const samples = contenders.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no contender always runs right after the same neighbour (GC debt, caches).
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length;
      const contender = contenders[index] as Contender;
      const times = repeats[index] as number;
      const start = performance.now();
      for (let t = 0; t < times; t++) await settle(contender.run());
      const elapsed = performance.now() - start;
      (samples[index] as number[]).push((elapsed * 1e6) / (contender.ops * times));
    }
  }
  const first = samples[0] as number[];
  return contenders.map((contender, index) => {
    const own = samples[index] as number[];
    return {
      name: contender.name,
      nsPerOp: median(own),
      bestNsPerOp: Math.min(...own),
      vsFirst: median(own.map((value, round) => value / (first[round] as number))),
      passes: own.length,
    };
  });
}

async function settle(value: unknown): Promise<void> {
  if (value instanceof Promise) consume(await value);
  else consume(value);
}

/** `1.23 µs`, `456 ns`, `7.8 ms`. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function formatRatio(ratio: number): string {
  return ratio >= 100
    ? `${ratio.toFixed(0)}×`
    : ratio >= 10
      ? `${ratio.toFixed(1)}×`
      : `${ratio.toFixed(2)}×`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
