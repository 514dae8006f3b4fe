/**
 * The shapes every scenario shares. A scenario is a function from a prepared database (a fixture)
 * and the run's baselines to measurements and target checks; adding a scenario means writing one
 * such function and listing it in scenarios/index.ts.
 */
import type { Repository } from '../index.js';
import type { RemoteOptions } from './options.js';
import type { ServeProcess } from './server-process.js';

/** How a value is printed; ratios are dimensionless multiples of a baseline or of a byte count. */
export type Unit = 's' | 'ms' | 'bytes' | 'count' | 'ratio' | 'MB/s';

export interface Value {
  name: string;
  value: number;
  unit: Unit;
}

export interface Measurement {
  scenario: string;
  /** The fixture's label, e.g. "1 GiB". */
  database: string;
  /** What varied within the scenario, e.g. "1 % change"; empty when nothing did. */
  case: string;
  values: Value[];
  /** Raw seconds of repeated runs, by what was repeated, for anyone re-analysing results.json. */
  samplesSeconds?: Record<string, number[]>;
}

export interface TargetCheck {
  scenario: string;
  database: string;
  case: string;
  /** The target as a sentence, e.g. "bytes written ≤ 1.1 × changed blocks' bytes". */
  target: string;
  actual: number;
  limit: number;
  unit: Unit;
  /** Whether `actual` may equal `limit`. */
  inclusive: boolean;
  passed: boolean;
}

export interface ScenarioResult {
  measurements: Measurement[];
  checks: TargetCheck[];
}

export interface DatabaseSize {
  label: string;
  targetBytes: number;
}

/** A database built once per size; scenarios run against it in turn. */
export interface Fixture {
  size: DatabaseSize;
  repo: Repository;
  db: string;
  /** Rows in table t; updates address a fraction of them by id. */
  rows: number;
  /** The working copy file's actual size after the build. */
  fileBytes: number;
  workingCopyPath: string;
  /** A folder for this fixture's throwaway files (copies made by the cp baseline). */
  scratchDir: string;
  buildSeconds: number;
  baseSnapshot: { seconds: number; bytesWritten: number; blocksChanged: number };
}

/** The cost of copying the working copy file with cp, measured in this run against this fixture. */
export interface CopyBaseline {
  medianSeconds: number;
  samplesSeconds: number[];
}

export interface ScenarioContext {
  fixture: Fixture;
  copy: CopyBaseline;
  /** How many times short operations are repeated; their median is reported. */
  repeats: number;
  progress(message: string): void;
}

/**
 * Scenarios run in list order against the same fixture. Each must leave the working copy clean on
 * branch main, so the next one starts from a known state.
 */
export interface Scenario {
  name: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/** The remote scenarios' database: one table in a temporary repository, snapshotted, served by `openduck serve`. */
export interface RemoteFixture {
  /** e.g. "10M rows"; the measurements' database column. */
  label: string;
  /** The repository folder (.openduck) the server is started on. */
  repoDir: string;
  db: string;
  table: string;
  rows: number;
  /** The materialized snapshot file the worker reads; the local baseline attaches it. */
  snapshotFile: string;
  fileBytes: number;
  buildSeconds: number;
  /** A folder for the scenarios' throwaway files (local destination databases). */
  scratchDir: string;
}

export interface RemoteContext {
  fixture: RemoteFixture;
  options: RemoteOptions;
  /** A running `openduck serve` on the fixture's repository, shared by the scenarios. */
  server: ServeProcess;
  /**
   * Starts fresh server processes on the fixture's repository (for a fresh process's memory):
   * `serve` (gateway and worker in one process) or `split` (`openduck gateway` and `openduck worker`).
   */
  startServer(kind: 'serve' | 'split'): Promise<ServeProcess>;
  progress(message: string): void;
}

export interface RemoteScenario {
  name: string;
  run(context: RemoteContext): Promise<ScenarioResult>;
}
