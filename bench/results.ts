/** The machine-readable record of a run, written to bench/results.json. */
import { cpus, arch, platform, release, totalmem } from 'node:os';
import { version as duckdbVersion } from '@duckdb/node-api';
import type { CopyBaseline, Fixture, Measurement, TargetCheck } from './types.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  platform: string;
  arch: string;
  osRelease: string;
  nodeVersion: string;
  duckdbVersion: string;
}

export interface DatabaseReport {
  label: string;
  targetBytes: number;
  rows: number;
  fileBytes: number;
  buildSeconds: number;
  baseSnapshot: Fixture['baseSnapshot'];
  copy: CopyBaseline;
}

/** The remote scenarios' table (see bench/remote.ts). */
export interface RemoteDatabaseReport {
  label: string;
  rows: number;
  fileBytes: number;
  buildSeconds: number;
}

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  durationSeconds: number;
  machine: MachineInfo;
  databases: DatabaseReport[];
  remote?: RemoteDatabaseReport;
  measurements: Measurement[];
  checks: TargetCheck[];
  summary: { passed: number; failed: number };
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    totalMemoryBytes: totalmem(),
    platform: platform(),
    arch: arch(),
    osRelease: release(),
    nodeVersion: process.version,
    duckdbVersion: duckdbVersion(),
  };
}

export function databaseReport(fixture: Fixture, copy: CopyBaseline): DatabaseReport {
  return {
    label: fixture.size.label,
    targetBytes: fixture.size.targetBytes,
    rows: fixture.rows,
    fileBytes: fixture.fileBytes,
    buildSeconds: fixture.buildSeconds,
    baseSnapshot: fixture.baseSnapshot,
    copy,
  };
}

export function summarize(checks: TargetCheck[]): BenchResults['summary'] {
  const passed = checks.filter((c) => c.passed).length;
  return { passed, failed: checks.length - passed };
}
