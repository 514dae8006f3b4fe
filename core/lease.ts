/**
 * One writer per branch. A writer holds a lease in the metadata store (holder, expiry, fencing
 * token); a second writer waits briefly, then gets LeaseHeldError naming the holder. A lease whose
 * holder process is gone on this host is broken at once, so a killed command never blocks the
 * next one for a whole TTL. Long operations renew the lease in the background.
 */
import { hostname } from 'node:os';
import { LeaseHeldError } from './errors.js';
import { envInteger } from './env.js';
import { isProcessAlive } from './fs-util.js';
import type { LeaseGrant, LeaseHolder, MetadataStore } from './store/metadata-store.js';

export const LEASE_TTL_MS = 30_000;

/** How long a lease lives without renewal; OPENDUCK_LEASE_TTL_MS overrides it (tests shorten it). */
export function defaultLeaseTtlMs(): number {
  return envInteger('OPENDUCK_LEASE_TTL_MS', LEASE_TTL_MS, { min: 1_000, max: 86_400_000 });
}

export interface LeaseOptions {
  /** What the holder is doing, shown to whoever waits: "openduck query". */
  purpose: string;
  /** How long to wait for a held lease before failing. */
  waitMs?: number;
  ttlMs?: number;
}

export function leaseHolder(purpose: string): LeaseHolder {
  const host = hostname();
  return { description: `pid ${process.pid} on ${host} (${purpose})`, host, pid: process.pid };
}

export function holderIsDead(h: LeaseHolder): boolean {
  return h.host === hostname() && h.pid !== process.pid && !isProcessAlive(h.pid);
}

export function defaultLeaseWaitMs(): number {
  return envInteger('OPENDUCK_LEASE_WAIT_MS', 2_000, { max: 86_400_000 });
}

export class WriteLease {
  private timer: NodeJS.Timeout | null = null;
  private released = false;

  private constructor(
    private readonly metadata: MetadataStore,
    private grant: LeaseGrant,
    private readonly ttlMs: number,
  ) {}

  static async acquire(metadata: MetadataStore, db: string, branch: string, options: LeaseOptions): Promise<WriteLease> {
    const ttlMs = options.ttlMs ?? defaultLeaseTtlMs();
    const deadline = Date.now() + (options.waitMs ?? defaultLeaseWaitMs());
    const holder = leaseHolder(options.purpose);
    for (;;) {
      try {
        const grant = await metadata.acquireLease(db, branch, holder, ttlMs, holderIsDead);
        const lease = new WriteLease(metadata, grant, ttlMs);
        lease.startRenewing();
        return lease;
      } catch (err) {
        if (!(err instanceof LeaseHeldError) || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  get token(): number {
    return this.grant.token;
  }

  get branch(): string {
    return this.grant.branch;
  }

  private startRenewing(): void {
    this.timer = setInterval(() => {
      this.metadata.renewLease(this.grant, this.ttlMs).then(
        (g) => (this.grant = g),
        () => undefined, // a lost lease surfaces at commit, where the token is checked
      );
    }, Math.max(1000, this.ttlMs / 3));
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.metadata.releaseLease(this.grant);
  }
}

/** Takes several leases in a fixed order, so two processes can never deadlock on them. */
export async function acquireLeases(metadata: MetadataStore, db: string, branches: string[], options: LeaseOptions): Promise<WriteLease[]> {
  const held: WriteLease[] = [];
  try {
    for (const b of [...new Set(branches)].sort()) held.push(await WriteLease.acquire(metadata, db, b, options));
    return held;
  } catch (err) {
    await releaseAll(held);
    throw err;
  }
}

export async function releaseAll(leases: WriteLease[]): Promise<void> {
  for (const l of leases.reverse()) await l.release().catch(() => undefined);
}
