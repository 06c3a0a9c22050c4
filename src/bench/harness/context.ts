/** What every scenario gets from the harness. */
export interface BenchContext {
  /** A temporary directory of this run: data dirs, logs; removed at the end. */
  workDir: string;
  /** Where CPU profiles go when profiling. */
  profileDir: string | undefined;
  smoke: boolean;
  /** Side-by-side rounds (each runs the baseline and the measured side once). */
  rounds: number;
  /** Measured seconds of one side of one round, and the warm-up before it. */
  roundMs: number;
  warmupMs: number;
  /** Concurrent callers of the max-throughput scenarios (64; fewer in a smoke run). */
  callers: number;
  log(message: string): void;
}
