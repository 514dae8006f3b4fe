/** Reading a process's memory use from /proc (Linux). */
import { readFileSync } from 'node:fs';

/** Peak resident set size (VmHWM) of a process; 0 where there is no /proc. */
export function peakRssBytes(pid: number | 'self' = 'self'): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
