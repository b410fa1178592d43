/**
 * Which process runs each running import or comparison of a project. Several processes may open
 * one project (the app, a second window, `atl-studio` in a terminal); a job's row says 'running'
 * while any of them runs it. The owner keeps a lease row fresh with a heartbeat; a process that
 * opens the project marks as stopped only the running jobs whose lease is gone or stale, never
 * those another live process runs.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ProjectDb } from './project-db';

export type LeasedJob = 'import' | 'comparison';

export interface LeaseTimings {
  /** How often the owner refreshes its lease. */
  heartbeatMs: number;
  /** A lease not refreshed for this long belongs to a process that stopped (or hangs). */
  staleMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { heartbeatMs: 2_000, staleMs: 15_000 };

/** This process in leases: a pid alone may be reused after a crash, or repeat on another machine. */
const THIS_PROCESS = randomUUID();

interface LeaseRow {
  owner: string;
  pid: number;
  hostname: string;
  heartbeat_at: number;
}

export type JobOwner = 'this process' | 'another process' | null;

export class JobLeases {
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly db: ProjectDb,
    private readonly timings: LeaseTimings = DEFAULT_LEASE_TIMINGS,
  ) {}

  /**
   * Records that this process runs the job, and refreshes that until `release`. Call it in the
   * transaction that marks the job running, so that no other process ever sees it without owner.
   */
  hold(kind: LeasedJob, refId: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO job_leases (kind, ref_id, owner, pid, hostname, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(kind, refId, THIS_PROCESS, process.pid, hostname(), Date.now());
    const beat = setInterval(() => {
      try {
        this.db.prepare('UPDATE job_leases SET heartbeat_at = ? WHERE kind = ? AND ref_id = ? AND owner = ?').run(Date.now(), kind, refId, THIS_PROCESS);
      } catch {
        // The file is busy with another process's write: the next beat comes well before the lease goes stale.
      }
    }, this.timings.heartbeatMs);
    beat.unref(); // a heartbeat never keeps a finished process alive
    clearInterval(this.heartbeats.get(key(kind, refId)));
    this.heartbeats.set(key(kind, refId), beat);
  }

  release(kind: LeasedJob, refId: number): void {
    clearInterval(this.heartbeats.get(key(kind, refId)));
    this.heartbeats.delete(key(kind, refId));
    if (this.db.open) this.db.prepare('DELETE FROM job_leases WHERE kind = ? AND ref_id = ? AND owner = ?').run(kind, refId, THIS_PROCESS);
  }

  /** Releases every lease this object holds: the project closes, so its jobs stop here. */
  releaseAll(): void {
    for (const held of [...this.heartbeats.keys()]) {
      const [kind, refId] = held.split(':');
      this.release(kind as LeasedJob, Number(refId));
    }
  }

  /** Who runs the job now: this process, another live one, or nobody (no lease, or a stale one). */
  owner(kind: LeasedJob, refId: number): JobOwner {
    const lease = this.db.prepare('SELECT owner, pid, hostname, heartbeat_at FROM job_leases WHERE kind = ? AND ref_id = ?').get(kind, refId) as
      | LeaseRow
      | undefined;
    if (!lease) return null;
    if (lease.owner === THIS_PROCESS) return 'this process';
    if (Date.now() - lease.heartbeat_at > this.timings.staleMs) return null;
    if (lease.hostname === hostname() && !processExists(lease.pid)) return null;
    return 'another process';
  }

  /** The jobs another live process runs now. */
  runningElsewhere(): { kind: LeasedJob; refId: number }[] {
    const leases = this.db.prepare('SELECT kind, ref_id AS refId FROM job_leases').all() as { kind: LeasedJob; refId: number }[];
    return leases.filter((lease) => this.owner(lease.kind, lease.refId) === 'another process');
  }

  /**
   * Of these running jobs, the ones no live process runs any more; their stale leases are removed.
   * Call it in a write transaction together with marking them, so no job starts in between.
   */
  abandoned(kind: LeasedJob, refIds: number[]): number[] {
    const gone = refIds.filter((refId) => this.owner(kind, refId) === null);
    const remove = this.db.prepare('DELETE FROM job_leases WHERE kind = ? AND ref_id = ?');
    for (const refId of gone) remove.run(kind, refId);
    return gone;
  }
}

function key(kind: LeasedJob, refId: number): string {
  return `${kind}:${refId}`;
}

/** Whether a process with this pid runs on this machine (signal 0 only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // it exists, under another user
  }
}
