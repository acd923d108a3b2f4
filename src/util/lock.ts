import {
  accessSync,
  constants,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.js';

// Who holds an output lock (the lock file's JSON).
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

// A lock whose holder is on another host counts as stale once its file has not been touched for this long (the
// holder touches it every HEARTBEAT_MS); on this host a dead pid is stale at once.
const STALE_MS = 120_000;
const HEARTBEAT_MS = 15_000;

// Locks this process holds, by lock file: nested claims of one folder (compress -> distill) share one lock.
const held = new Map<string, { count: number; timer: NodeJS.Timeout }>();

// `--out` as a folder a run may write: an existing file or device, or a folder that cannot be created or written, is
// a UserError naming it, found before any work.
export function checkOutFolder(dir: string, flag = '--out'): string {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory())
    throw new UserError(
      `${flag}: ${abs} is ${statSync(abs).isFile() ? 'a file' : 'a device or special file'}, not a folder`,
      `give ${flag} a folder (it is created if missing)`,
    );
  try {
    // One level at a time: Node's recursive mkdir spins for ever on some pseudo file systems (/proc/x).
    const missing: string[] = [];
    for (let d = abs; !existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) mkdirSync(d);
    accessSync(abs, constants.W_OK);
  } catch (err: unknown) {
    throw new UserError(
      `${flag}: cannot write to ${abs} (${(err as { code?: string }).code ?? String(err)})`,
      `give ${flag} a folder you can write to`,
      { cause: err },
    );
  }
  return abs;
}

// `--out` as a file a run may write (export): not a folder or device, in a folder that can be written.
export function checkOutFile(file: string, flag = '--out'): string {
  const abs = resolve(file);
  if (existsSync(abs) && !statSync(abs).isFile())
    throw new UserError(
      `${flag}: ${abs} is ${statSync(abs).isDirectory() ? 'a folder' : 'a device or special file'}, not a file`,
    );
  checkOutFolder(dirname(abs), `${flag} (its folder)`);
  return abs;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

// Whether the holder is gone: a dead pid on this host, or an untouched lock from another host.
function isStale(path: string, h: LockHolder): boolean {
  if (h.host === hostname()) {
    try {
      process.kill(h.pid, 0);
      return false;
    } catch (err: unknown) {
      return (err as { code?: string }).code === 'ESRCH';
    }
  }
  return Date.now() - statSync(path).mtimeMs > STALE_MS;
}

// The holder of the lock file `path` while it is live (undefined when there is no lock or it is stale).
export function liveHolder(path: string): LockHolder | undefined {
  if (!existsSync(path)) return undefined;
  const h = readHolder(path);
  try {
    return h && !isStale(path, h) ? h : undefined;
  } catch {
    return undefined;
  }
}

// Take the lock file `path` for this process (what: the command, for the holder's record) or throw a UserError naming
// the holder. The file is written whole beside the lock and hard-linked into place: link() fails when the lock
// exists, atomically, on local disks and NFS alike, and a reader never sees a half-written holder.
// Returns the release function (also run at process exit).
export function acquireLock(path: string, what: string, owner: string): () => void {
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return () => release(path);
  }
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: what };
  const tmp = `${path}.${process.pid}.${Date.now()}`;
  writeFileSync(tmp, JSON.stringify(me));
  try {
    for (let tries = 0; ; tries++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err: unknown) {
        if ((err as { code?: string }).code !== 'EEXIST')
          throw new UserError(
            `${owner}: cannot create the lock ${path} (${(err as { code?: string }).code ?? String(err)})`,
            undefined,
            { cause: err },
          );
        const h = readHolder(path);
        if (!h)
          throw new UserError(
            `${owner} is locked by ${path}, which cannot be read`,
            `if no run uses ${dirname(path)}, delete ${path}`,
          );
        if (tries === 0 && isStale(path, h)) {
          rmSync(path, { force: true });
          continue;
        }
        throw new UserError(
          `${owner} is in use by another run: ${h.command} (pid ${h.pid} on ${h.host}, since ${h.started})`,
          `wait for it to end, or give another folder; if that process is gone (another machine), delete ${path}`,
        );
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const timer = setInterval(() => {
    try {
      utimesSync(path, new Date(), new Date());
    } catch {
      /* folder removed */
    }
  }, HEARTBEAT_MS);
  timer.unref();
  held.set(path, { count: 1, timer });
  return () => release(path);
}

function release(path: string): void {
  const mine = held.get(path);
  if (!mine || --mine.count > 0) return;
  clearInterval(mine.timer);
  held.delete(path);
  if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
}

process.on('exit', () => {
  for (const path of [...held.keys()]) {
    held.get(path)!.count = 1;
    release(path);
  }
});

// The lock file of an output folder.
export const LOCK_FILE = '.onnx-distill.lock';

// Check `--out` (a folder) and lock it for this run: a second writer gets a UserError naming the holder.
export function lockOutFolder(dir: string, what: string, flag = '--out'): () => void {
  if (flag === '--resume' && !existsSync(dir)) throw new UserError(`--resume: ${resolve(dir)}: no such folder`);
  const abs = checkOutFolder(dir, flag);
  return acquireLock(resolve(abs, LOCK_FILE), what, `${flag} ${abs}`);
}
