// A cross-process lock on one Guardian file, made of a lock file next to it. Node has no flock(),
// so mutual exclusion comes from link(2), which fails with EEXIST when the name is taken.
//
// Protocol (every step is one atomic file-system call):
//  * acquire: write {pid, host, nonce, at} to a private temp file, then link() it to `<file>.lock`.
//    The lock file therefore appears with complete content or not at all; EEXIST = held.
//  * a held lock is waited for (short backoff, bounded by timeoutMs → GUARD_STORE_LOCKED) unless
//    its holder is gone: a dead pid on this host, a nonce of this very process that it no longer
//    holds (a restarted container often gets the same pid), or an age beyond staleMs (other
//    hosts, unreadable content).
//  * breaking a stale lock: link() it to `<file>.lock.break-<id of its content>`. Only one
//    breaker can create that name; it re-reads the content through the new name, and only when
//    it is still the stale lock it judged does it unlink `<file>.lock` — no one else can remove
//    that lock meanwhile (its holder is gone and every other breaker of it gets EEXIST), so a
//    slow breaker never removes a fresh lock taken after the stale one was cleared.
//  * release: unlink the lock file if it still carries our nonce.
// The holder checks its nonce again right before it commits (`held()`), and the store checks there
// that the Guardian file is still the one it read, so writers outside this protocol (a person's
// editor) are detected as conflicts. What it does not cover: a holder that stalls beyond staleMs
// (a suspended process) can have its lock broken; that check is then the last guard. Liveness by
// pid assumes one host (or one pid namespace) per directory; other hosts' locks only age out.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from './errors.js';

interface LockContent {
  pid: number;
  host: string;
  nonce: string;
  at: number;
}

export interface FileLockOptions {
  /** Give up waiting for a live holder after this long (GUARD_STORE_LOCKED). */
  timeoutMs: number;
  /** A lock older than this is stale whatever its pid says: writes hold it for milliseconds. */
  staleMs: number;
}

/** Nonces of the locks this process holds now, to tell them from a former process with our pid. */
const heldHere = new Set<string>();
const HOST = hostname();
/** Content that is not a lock we wrote is stale after this long (a lock file is complete when it appears). */
const UNREADABLE_STALE_MS = 5_000;

export interface HeldLock {
  /** True while the lock file still carries our nonce. */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<HeldLock> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 1;
  let lastHolder = '';
  for (;;) {
    const nonce = await tryCreate(lockPath);
    if (nonce) return heldLock(lockPath, nonce);
    const seen = await readLock(lockPath);
    if (!seen) continue; // released between our link and our read: try again at once
    lastHolder = seen.content ? `pid ${seen.content.pid} on ${seen.content.host}` : 'an unreadable lock';
    if (isStale(seen, options.staleMs)) {
      await breakLock(lockPath, seen);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StoreError('GUARD_STORE_LOCKED', `${lockPath} is held by ${lastHolder} for more than ${options.timeoutMs} ms`, { location: lockPath });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
}

const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 8);
const TEMP_NAME = /^\..+\.([0-9a-f]{8})\.(\d+)\.[0-9a-f]+\.tmp$/;
/** No write holds a temp file this long: one this old is abandoned whoever made it. */
const ABANDONED_TEMP_MS = 3_600_000;

/**
 * A private temp file next to `path`: hidden (leading dot), and named with this host and pid so
 * that a store can tell the leftovers of a killed process from a write in progress.
 */
export function privateTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${HOST_TAG}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
}

/** Whether `name` is a temp file (privateTempPath) or break claim left behind by a process that is gone. */
export function isAbandoned(name: string, ageMs: number): boolean {
  if (/\.lock\.break-[0-9a-f]+$/.test(name)) return ageMs > UNREADABLE_STALE_MS;
  const m = TEMP_NAME.exec(name);
  if (!m) return false;
  if (ageMs > ABANDONED_TEMP_MS) return true;
  const pid = Number(m[2]);
  return m[1] === HOST_TAG && pid !== process.pid && !pidAlive(pid);
}

async function tryCreate(lockPath: string): Promise<string | null> {
  const nonce = randomBytes(12).toString('hex');
  const content: LockContent = { pid: process.pid, host: HOST, nonce, at: Date.now() };
  const temp = privateTempPath(lockPath);
  await io(() => fs.writeFile(temp, JSON.stringify(content), { flag: 'wx' }), temp);
  // Registered before the link: the lock is visible to this process's other store instances
  // as soon as link() lands, before this continuation runs.
  heldHere.add(nonce);
  try {
    await fs.link(temp, lockPath);
    return nonce;
  } catch (err) {
    heldHere.delete(nonce);
    if (errno(err) === 'EEXIST') return null;
    throw ioError(err, lockPath);
  } finally {
    await fs.unlink(temp).catch(() => {});
  }
}

function heldLock(lockPath: string, nonce: string): HeldLock {
  const held = async (): Promise<boolean> => (await readLock(lockPath))?.content?.nonce === nonce;
  return {
    held,
    async release() {
      // Still ours until unlinked: a store instance of this process must not judge it stale.
      try {
        if (await held()) await fs.unlink(lockPath).catch(() => {});
      } finally {
        heldHere.delete(nonce);
      }
    },
  };
}

interface SeenLock {
  /** Identity of what was read: the raw text plus inode and mtime, so two locks never compare equal. */
  identity: string;
  content: LockContent | null;
  mtimeMs: number;
}

/** Read the lock through one descriptor (content and stat of the same inode); null if absent. */
async function readLock(path: string): Promise<SeenLock | null> {
  let handle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw ioError(err, path);
  }
  try {
    const stat = await handle.stat({ bigint: true });
    const text = await handle.readFile('utf8');
    return { identity: `${stat.ino}:${stat.mtimeNs}:${text}`, content: parseLock(text), mtimeMs: Number(stat.mtimeMs) };
  } catch (err) {
    throw ioError(err, path);
  } finally {
    await handle.close();
  }
}

function parseLock(text: string): LockContent | null {
  try {
    const v = JSON.parse(text) as LockContent;
    if (v && Number.isInteger(v.pid) && typeof v.host === 'string' && typeof v.nonce === 'string' && typeof v.at === 'number') return v;
  } catch {
    // unreadable: judged by age
  }
  return null;
}

function isStale(seen: SeenLock, staleMs: number): boolean {
  const age = Date.now() - seen.mtimeMs;
  const c = seen.content;
  if (!c) return age > Math.min(UNREADABLE_STALE_MS, staleMs);
  if (age > staleMs) return true;
  if (c.host !== HOST) return false;
  if (c.pid === process.pid) return !heldHere.has(c.nonce);
  return !pidAlive(c.pid);
}

/** Whether a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM'; // exists, owned by someone else
  }
}

async function breakLock(lockPath: string, seen: SeenLock): Promise<void> {
  const id = createHash('sha256').update(seen.identity).digest('hex').slice(0, 24);
  const claim = `${lockPath}.break-${id}`;
  try {
    await fs.link(lockPath, claim);
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return; // already gone
    if (code !== 'EEXIST') throw ioError(err, lockPath);
    // Another breaker is at it, or died doing it: a claim lives for microseconds.
    const st = await fs.stat(claim).catch(() => null);
    if (st && Date.now() - st.ctimeMs > UNREADABLE_STALE_MS) await fs.unlink(claim).catch(() => {});
    await sleep(1);
    return;
  }
  try {
    const now = await readLock(claim);
    if (now?.identity === seen.identity) await fs.unlink(lockPath).catch(() => {});
  } finally {
    await fs.unlink(claim).catch(() => {});
  }
}

async function io<T>(fn: () => Promise<T>, path: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ioError(err, path);
  }
}

export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export function ioError(err: unknown, path: string): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('GUARD_STORE_IO', `${path}: ${(err as Error).message}`, { location: path, cause: err });
}
