// The local spool: a Maildir-style directory where a message that cannot be sent now waits.
// Every state change is one rename(2) (atomic on one file system) followed by an fsync of the
// directory, and the state lives in the file's name and directory:
//
//   tmp/ID                          being written (not yet queued: the sender has not said "queued")
//   new/ID,a=N,n=T                  queued; N attempts so far; not to be tried before epoch second T
//   cur/ID,a=N,s=claimed,p=PID,t=S  a flush (process PID, start time S) owns it; the end of the
//                                   message has NOT been handed to the socket: safe to retry
//   cur/ID,a=N,s=end,p=PID,t=S      the end may have left the process: a verdict may be lost
//   hold/ID,a=N                     outcome unknown: kept, never resent without --force
//   failed/ID,a=N                   refused permanently (or gave up): kept for the user to read
//
// Two flushes race by renaming new/ -> cur/: one wins, the other gets ENOENT and skips it. A
// flush that died leaves cur/ files whose owner is gone: `claimed` goes back to new/ (nothing
// was sent), `end` goes to hold/ (it may have been delivered). So no crash loses or duplicates
// a message. A file is: "SMTPWIRE-SPOOL 1\n" + one JSON line (envelope, how to connect) + the
// message octets as they are to be sent.
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Envelope, RecipientSpec } from '../core/envelope.ts';
import type { Recipe } from './args.ts';
import { ConfigError } from './msmtp-config.ts';

const MAGIC = 'SMTPWIRE-SPOOL 1\n';
/** A bound on the envelope line a flush reads (a corrupt file must not be read whole). */
const MAX_ENVELOPE = 64 << 20;
const DIRS = ['tmp', 'new', 'cur', 'hold', 'failed', 'info'] as const;

export interface SpoolEnvelope {
  from: string;
  to: (string | RecipientSpec)[];
  dsn?: Envelope['dsn'];
  recipe: Recipe;
  created: number;
  logfile?: string;
}

export type SpoolState = 'queued' | 'claimed' | 'end' | 'unknown' | 'failed';

export interface SpoolEntry {
  id: string;
  state: SpoolState;
  dir: string;
  file: string;
  attempts: number;
  notBefore: number;
  pid?: number;
  start?: string;
}

/**
 * Tests only: SMTPWIRE_TEST_CRASH_AT=STEP makes the process SIGKILL itself at that step, so the
 * crash tests can stop it between any two state changes. Documented in docs/cli.md.
 */
export function crashPoint(step: string): void {
  if (process.env.SMTPWIRE_TEST_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), to tell a reused PID. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  const now = processStart(pid);
  return start === undefined || start === '' || now === undefined || now === start;
}

export function newId(): string {
  const rnd = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString('hex');
  return `${Date.now().toString(36)}.${process.pid.toString(36)}.${rnd}`;
}

function parseName(dir: string, file: string): SpoolEntry | undefined {
  const [id, ...kv] = file.split(',');
  if (!id || !/^[a-z0-9.]+$/.test(id)) return undefined;
  const f: Record<string, string> = {};
  for (const p of kv) {
    const eq = p.indexOf('=');
    if (eq > 0) f[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const state: SpoolState =
    dir === 'new' ? 'queued' : dir === 'hold' ? 'unknown' : dir === 'failed' ? 'failed' : f.s === 'end' ? 'end' : 'claimed';
  return {
    id,
    state,
    dir,
    file,
    attempts: Number(f.a ?? 0),
    notBefore: Number(f.n ?? 0),
    ...(f.p ? { pid: Number(f.p), start: f.t ?? '' } : {}),
  };
}

export class Spool {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const d of DIRS) mkdirSync(join(this.dir, d), { recursive: true, mode: 0o700 });
    this.checkPrivate();
  }

  /**
   * The spool holds mail and the recipes a flush runs (--pass-cmd is a shell command), so whoever
   * can write into it can run commands as you: the directory and its subdirectories must be real
   * directories (not symbolic links), owned by you, with no access for group or others. Throws
   * ConfigError (exit 78) otherwise; returns false when there is no spool yet.
   */
  checkPrivate(): boolean {
    const uid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
    for (const d of ['', ...DIRS]) {
      const path = d === '' ? this.dir : join(this.dir, d);
      let st;
      try {
        st = lstatSync(path);
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') {
          if (d === '') return false;
          continue; // ensure() creates it
        }
        throw err;
      }
      const refuse = (why: string, fix: string): never => {
        throw new ConfigError(`the spool ${path} ${why}; ${fix}`);
      };
      if (st.isSymbolicLink()) refuse('is a symbolic link', 'give the real directory (--queue-dir, queue_dir or $SMTPWIRE_QUEUE_DIR)');
      if (!st.isDirectory()) refuse('is not a directory', 'remove it or choose another spool');
      if (uid !== undefined && st.uid !== uid) refuse(`belongs to uid ${st.uid}, not to you (uid ${uid})`, 'use a spool of your own');
      if ((st.mode & 0o077) !== 0) refuse(`is open to group or others (mode ${(st.mode & 0o777).toString(8)})`, `run "chmod 700 ${path}"`);
    }
    return true;
  }

  path(e: Pick<SpoolEntry, 'dir' | 'file'>): string {
    return join(this.dir, e.dir, e.file);
  }

  private syncDir(d: string): void {
    const fd = openSync(join(this.dir, d), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private move(from: Pick<SpoolEntry, 'dir' | 'file'>, dir: string, file: string): SpoolEntry | undefined {
    try {
      renameSync(this.path(from), join(this.dir, dir, file));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined; // another process took it
      throw err;
    }
    this.syncDir(dir);
    if (from.dir !== dir) this.syncDir(from.dir);
    return parseName(dir, file);
  }

  /** Writes a message into tmp/ and fsyncs it: the caller then sends from it, then commits or discards. */
  async writeTmp(envelope: SpoolEnvelope, body: AsyncIterable<Uint8Array>): Promise<{ id: string; path: string; start: number }> {
    this.ensure();
    const id = newId();
    const path = join(this.dir, 'tmp', id);
    const fd = openSync(path, 'wx', 0o600);
    let start = 0;
    try {
      const head = Buffer.from(MAGIC + JSON.stringify(envelope) + '\n', 'utf8');
      writeAll(fd, head);
      start = head.length;
      for await (const chunk of body) writeAll(fd, chunk);
      crashPoint('spool-written');
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
      throw err;
    }
    closeSync(fd);
    crashPoint('spool-synced');
    return { id, path, start };
  }

  /** tmp/ID -> new/: from now on the message is queued. */
  commit(id: string, attempts: number, notBefore: number): void {
    this.move({ dir: 'tmp', file: id }, 'new', `${id},a=${attempts},n=${notBefore}`);
    crashPoint('spool-committed');
  }

  discardTmp(id: string): void {
    try {
      unlinkSync(join(this.dir, 'tmp', id));
    } catch {
      /* already gone */
    }
  }

  list(): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    for (const d of ['new', 'cur', 'hold', 'failed']) {
      let files: string[] = [];
      try {
        files = readdirSync(join(this.dir, d));
      } catch {
        /* no spool yet */
      }
      for (const f of files) {
        const e = parseName(d, f);
        if (e) out.push(e);
      }
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Returns abandoned cur/ files to where they belong, and removes tmp/ files a killed sender
   *  left over 36 hours ago (Maildir's rule; that sender never said "queued"); returns how many. */
  recover(): number {
    let n = 0;
    let tmp: string[] = [];
    try {
      tmp = readdirSync(join(this.dir, 'tmp'));
    } catch {
      /* no spool yet */
    }
    for (const f of tmp) {
      try {
        if (Date.now() - statSync(join(this.dir, 'tmp', f)).mtimeMs > 36 * 3600_000) unlinkSync(join(this.dir, 'tmp', f));
      } catch {
        /* gone meanwhile */
      }
    }
    for (const e of this.list()) {
      if (e.dir !== 'cur' || e.pid === undefined || alive(e.pid, e.start)) continue;
      const moved =
        e.state === 'claimed' ? this.move(e, 'new', `${e.id},a=${e.attempts},n=0`) : this.move(e, 'hold', `${e.id},a=${e.attempts}`);
      if (moved) {
        n++;
        if (moved.state === 'unknown')
          this.note(e.id, 'a flush stopped after the end of the message was handed over: it may have been delivered');
      }
    }
    return n;
  }

  /** new/ (or hold/ with force) -> cur/ claimed by this process; undefined if another took it. */
  claim(e: SpoolEntry): SpoolEntry | undefined {
    const start = processStart(process.pid) ?? '';
    const got = this.move(e, 'cur', `${e.id},a=${e.attempts},s=claimed,p=${process.pid},t=${start}`);
    if (got) crashPoint('flush-claimed');
    return got;
  }

  /** claimed -> end: called just before the last octets are handed over. Synchronous. */
  markEnd(e: SpoolEntry): SpoolEntry {
    const got = this.move(e, 'cur', e.file.replace(',s=claimed,', ',s=end,'));
    if (!got) throw new Error(`spool entry ${e.id} vanished while being sent`);
    crashPoint('flush-end-marked');
    return got;
  }

  /** The outcome is final and good: the message leaves the spool. */
  remove(e: SpoolEntry): void {
    crashPoint('flush-replied');
    unlinkSync(this.path(e));
    this.syncDir(e.dir);
    this.clearNote(e.id);
    crashPoint('flush-finished');
  }

  reschedule(e: SpoolEntry, attempts: number, notBefore: number, why: string): void {
    crashPoint('flush-replied');
    this.move(e, 'new', `${e.id},a=${attempts},n=${notBefore}`);
    this.note(e.id, why);
    crashPoint('flush-finished');
  }

  hold(e: SpoolEntry, why: string): void {
    crashPoint('flush-replied');
    this.move(e, 'hold', `${e.id},a=${e.attempts + 1}`);
    this.note(e.id, why);
    crashPoint('flush-finished');
  }

  fail(e: SpoolEntry, why: string): void {
    crashPoint('flush-replied');
    this.move(e, 'failed', `${e.id},a=${e.attempts + 1}`);
    this.note(e.id, why);
    crashPoint('flush-finished');
  }

  /** Replaces a claimed entry's envelope (some recipients are done): a new file, then a rename over it. */
  rewriteEnvelope(e: SpoolEntry, envelope: SpoolEnvelope): void {
    const { start } = this.read(e);
    const src = openSync(this.path(e), 'r');
    const tmp = join(this.dir, 'tmp', `${e.id}.rewrite`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, Buffer.from(MAGIC + JSON.stringify(envelope) + '\n', 'utf8'));
      const buf = Buffer.allocUnsafe(1 << 16);
      for (let pos = start; ;) {
        const n = readSync(src, buf, 0, buf.length, pos);
        if (n === 0) break;
        writeAll(fd, buf.subarray(0, n));
        pos += n;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      closeSync(src);
    }
    renameSync(tmp, this.path(e));
    this.syncDir(e.dir);
  }

  /** The envelope and where the message starts. */
  read(e: Pick<SpoolEntry, 'dir' | 'file'>): { envelope: SpoolEnvelope; start: number } {
    const fd = openSync(this.path(e), 'r');
    try {
      // The envelope line has no fixed size (thousands of -t recipients): read until its end.
      const parts: Buffer[] = [];
      let size = 0;
      for (;;) {
        const buf = Buffer.allocUnsafe(1 << 16);
        const n = readSync(fd, buf, 0, buf.length, size);
        const got = buf.subarray(0, n);
        if (size === 0 && got.subarray(0, MAGIC.length).toString('latin1') !== MAGIC)
          throw new Error(`${this.path(e)} is not a spooled message`);
        const nl = got.indexOf(0x0a, size === 0 ? MAGIC.length : 0);
        parts.push(nl < 0 ? got : got.subarray(0, nl + 1));
        size += nl < 0 ? n : nl + 1;
        if (nl >= 0) break;
        if (n === 0 || size > MAX_ENVELOPE) throw new Error(`${this.path(e)}: envelope line too long or cut`);
      }
      const line = Buffer.concat(parts);
      const envelope = JSON.parse(line.subarray(MAGIC.length, line.length - 1).toString('utf8')) as SpoolEnvelope;
      return { envelope, start: line.length };
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes a message that is not being sent right now. */
  drop(id: string): SpoolEntry | undefined {
    const e = this.list().find((x) => x.id === id);
    if (!e) return undefined;
    if (e.dir === 'cur' && e.pid !== undefined && alive(e.pid, e.start))
      throw new Error(`message ${id} is being sent by process ${e.pid}; try again when it is done`);
    unlinkSync(this.path(e));
    this.syncDir(e.dir);
    this.clearNote(id);
    return e;
  }

  /** A short human note (the last error) next to a message; best effort. */
  note(id: string, text: string): void {
    try {
      const tmp = join(this.dir, 'info', `.${id}.${process.pid}`);
      writeFileSync(tmp, text.replace(/[\r\n]+/g, ' ') + '\n', { mode: 0o600 });
      renameSync(tmp, join(this.dir, 'info', id));
    } catch {
      /* a note is never worth failing for */
    }
  }

  readNote(id: string): string | undefined {
    try {
      return readFileSync(join(this.dir, 'info', id), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  private clearNote(id: string): void {
    try {
      unlinkSync(join(this.dir, 'info', id));
    } catch {
      /* none */
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
}
