#!/usr/bin/env node
// The benchmark sink: a fast SMTP server that accepts everything and keeps nothing.
//
//   node bench/sink.mjs [--host 127.0.0.1] [--port 0] [--delay MS] [--drop P]
//
// It advertises PIPELINING, CHUNKING, 8BITMIME and SIZE, answers every command, swallows DATA
// and BDAT bodies without copying them, and counts what a client costs it. On start it prints
// one JSON line {"event":"listening","port":N}. It is steered by JSON lines on stdin:
//
//   {"op":"reset","delay":25}   zero the counters, set the reply delay  -> {"event":"reset"}
//                               ("drop":P sets the drop probability too)
//   {"op":"stats"}              wait (<= 5 s) until no connection is open, then print the counters
//   {"op":"exit"}
//
// Reply delay: the replies owed for one read are written `delay` ms after that read arrived
// (like a server with that much latency); replies stay in order.
//
// Drop (for bench/blast-radius.mjs): each message received ends, with probability P, in a
// dropped link instead of its reply: the socket is destroyed at once, so every reply owed and
// not yet written is lost with it, as when a server crashes. Counted in `drops`; the message
// itself counts as received (a crashing server may have queued it).
//
// Turns: a turn is counted when client bytes arrive and the sink has written at least one reply
// on that connection since the previous client bytes arrived (the greeting counts as a reply).
// In other words: the sink spoke, and then had to hear from the client again before going on.
// A client that waits for a reply before each command pays one turn per command; a client that
// pipelines a whole batch pays one turn per batch.
import * as net from 'node:net';
import * as readline from 'node:readline';

const args = parseArgs(process.argv.slice(2));
let delay = Number(args.delay ?? 0);
let drop = Number(args.drop ?? 0);
// SINK_DEBUG=1: log every turn, read and flush to stderr (slow; for checking what a client does).
const DEBUG = process.env.SINK_DEBUG === '1';
const t0 = process.hrtime.bigint();
const trace = (c, what, buf) => {
  const ms = (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3);
  const text = JSON.stringify(buf.subarray(0, 60).toString('latin1'));
  process.stderr.write(`[sink ${ms} ms] #${c.id} ${what} ${buf.length} B ${text}\n`);
};
let nextId = 1;
const SIZE_LIMIT = 200 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const DATA_END = Buffer.from('\r\n.\r\n');

const GREETING = Buffer.from('220 sink.invalid ESMTP benchmark sink\r\n');
const EHLO = Buffer.from('250-sink.invalid\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n' + `250 SIZE ${SIZE_LIMIT}\r\n`);
const HELO = Buffer.from('250 sink.invalid\r\n');
const OK_MAIL = Buffer.from('250 2.1.0 Ok\r\n');
const OK_RCPT = Buffer.from('250 2.1.5 Ok\r\n');
const OK_CHUNK = Buffer.from('250 2.0.0 Chunk received\r\n');
const OK_QUEUED = Buffer.from('250 2.0.0 Ok: queued\r\n');
const OK = Buffer.from('250 2.0.0 Ok\r\n');
const GO_AHEAD = Buffer.from('354 End data with <CR><LF>.<CR><LF>\r\n');
const BYE = Buffer.from('221 2.0.0 Bye\r\n');
const UNKNOWN = Buffer.from('500 5.5.2 Unknown command\r\n');
const BAD_BDAT = Buffer.from('501 5.5.4 Bad BDAT size\r\n');
const TOO_LONG = Buffer.from('500 5.5.2 Line too long\r\n');

// Verbs as 32-bit keys of their four letters, lower-cased (b | 0x20).
const key = (s) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const K_MAIL = key('mail'),
  K_RCPT = key('rcpt'),
  K_DATA = key('data'),
  K_BDAT = key('bdat');
const K_EHLO = key('ehlo'),
  K_HELO = key('helo'),
  K_RSET = key('rset'),
  K_NOOP = key('noop'),
  K_QUIT = key('quit');

const MODE_CMD = 0,
  MODE_DATA = 1,
  MODE_BDAT = 2,
  MODE_QUIT = 3,
  MODE_DROPPED = 4;

function freshStats() {
  return {
    connections: 0,
    messages: 0,
    drops: 0,
    bodyBytes: 0,
    inBytes: 0,
    turns: 0,
    reads: 0,
    commands: 0,
    flushes: 0,
    cpu: process.cpuUsage(),
    since: process.hrtime.bigint(),
  };
}
let stats = freshStats();
let active = 0;
const idleWaiters = [];

const server = net.createServer({ noDelay: true }, onConnection);
server.listen(Number(args.port ?? 0), args.host ?? '127.0.0.1', () => {
  emit({ event: 'listening', port: server.address().port, host: args.host ?? '127.0.0.1', delay });
});

function onConnection(socket) {
  stats.connections++;
  active++;
  const c = {
    socket,
    id: nextId++,
    mode: MODE_CMD,
    partial: undefined, // an incomplete command line carried over
    left: 0, // BDAT octets still to swallow
    last: false, // the BDAT being swallowed is LAST
    match: 0, // DATA: octets of "\r\n.\r\n" matched at the end of the previous read
    replies: [],
    spoke: false, // a reply was written since the last client bytes
    closed: false,
  };
  socket.on('data', (buf) => onData(c, buf));
  socket.on('error', () => {});
  socket.on('close', () => {
    c.closed = true;
    active--;
    if (active === 0) for (const w of idleWaiters.splice(0)) w();
  });
  c.replies.push(GREETING);
  flush(c);
}

function onData(c, buf) {
  const s = stats;
  s.reads++;
  s.inBytes += buf.length;
  if (c.spoke) {
    s.turns++;
    c.spoke = false;
    if (DEBUG) trace(c, `TURN ${s.turns}, read`, buf);
  } else if (DEBUG) trace(c, 'read', buf);
  let pos = 0;
  const n = buf.length;
  while (pos < n) {
    if (c.mode === MODE_BDAT) {
      const take = Math.min(c.left, n - pos);
      c.left -= take;
      pos += take;
      s.bodyBytes += take;
      if (c.left === 0) endBdat(c);
    } else if (c.mode === MODE_DATA) {
      const start = pos;
      const end = scanData(c, buf, pos);
      if (end < 0) {
        s.bodyBytes += n - start;
        pos = n;
      } else {
        s.bodyBytes += end - start;
        pos = end;
        c.mode = MODE_CMD;
        s.messages++;
        c.replies.push(OK_QUEUED);
        maybeDrop(c);
      }
    } else if (c.mode === MODE_CMD) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        const rest = buf.subarray(pos);
        c.partial = c.partial ? Buffer.concat([c.partial, rest]) : Buffer.from(rest);
        if (c.partial.length > 4096) {
          c.partial = undefined;
          c.replies.push(TOO_LONG);
        }
        break;
      }
      if (c.partial) {
        const line = Buffer.concat([c.partial, buf.subarray(pos, lf + 1)]);
        c.partial = undefined;
        command(c, line, 0, line.length - 1);
      } else {
        command(c, buf, pos, lf);
      }
      pos = lf + 1;
    } else {
      break; // after QUIT (or a drop): ignore the rest
    }
  }
  if (c.mode === MODE_DROPPED) return;
  flush(c);
}

/** --drop: after a message, maybe destroy the link with every unwritten reply. */
function maybeDrop(c) {
  if (drop <= 0 || Math.random() >= drop) return;
  stats.drops++;
  c.mode = MODE_DROPPED;
  c.replies = [];
  c.socket.destroy();
}

/** One command line: buf[start..lf) (lf indexes the LF; a CR before it is ignored). */
function command(c, buf, start, lf) {
  stats.commands++;
  const len = lf - start;
  const k =
    len >= 4
      ? (((buf[start] | 0x20) << 24) | ((buf[start + 1] | 0x20) << 16) | ((buf[start + 2] | 0x20) << 8) | (buf[start + 3] | 0x20)) >>> 0
      : 0;
  switch (k) {
    case K_MAIL:
      c.replies.push(OK_MAIL);
      return;
    case K_RCPT:
      c.replies.push(OK_RCPT);
      return;
    case K_DATA:
      c.mode = MODE_DATA;
      c.match = 2; // the CRLF ending "DATA" may begin the terminator (empty body)
      c.replies.push(GO_AHEAD);
      return;
    case K_BDAT: {
      // "BDAT" SP size [SP "LAST"]
      let i = start + 4;
      while (i < lf && buf[i] === 0x20) i++;
      let size = 0,
        digits = 0;
      while (i < lf && buf[i] >= 0x30 && buf[i] <= 0x39 && digits < 15) {
        size = size * 10 + (buf[i] - 0x30);
        i++;
        digits++;
      }
      while (i < lf && buf[i] === 0x20) i++;
      const last =
        lf - i >= 4 &&
        (buf[i] | 0x20) === 0x6c &&
        (buf[i + 1] | 0x20) === 0x61 &&
        (buf[i + 2] | 0x20) === 0x73 &&
        (buf[i + 3] | 0x20) === 0x74;
      if (digits === 0) {
        c.replies.push(BAD_BDAT);
        return;
      }
      c.left = size;
      c.last = last;
      c.mode = MODE_BDAT;
      if (size === 0) endBdat(c);
      return;
    }
    case K_EHLO:
      c.replies.push(EHLO);
      return;
    case K_HELO:
      c.replies.push(HELO);
      return;
    case K_RSET:
      c.replies.push(OK);
      return;
    case K_NOOP:
      c.replies.push(OK);
      return;
    case K_QUIT:
      c.replies.push(BYE);
      c.mode = MODE_QUIT;
      return;
    default:
      c.replies.push(UNKNOWN);
  }
}

function endBdat(c) {
  c.mode = MODE_CMD;
  if (c.last) {
    stats.messages++;
    c.replies.push(OK_QUEUED);
    maybeDrop(c);
  } else {
    c.replies.push(OK_CHUNK);
  }
}

/** DATA mode: the index just past "\r\n.\r\n" in buf (from pos), or -1 with c.match updated. */
function scanData(c, buf, pos) {
  const n = buf.length;
  let m = c.match;
  // A terminator begun in the previous read: finish or refute it byte by byte.
  while (m > 0 && pos < n) {
    const b = buf[pos++];
    if (b === DATA_END[m]) {
      if (++m === 5) {
        c.match = 0;
        return pos;
      }
    } else {
      m = b === CR ? 1 : 0;
    }
  }
  if (pos >= n) {
    c.match = m;
    return -1;
  }
  const i = buf.indexOf(DATA_END, pos);
  if (i >= 0) {
    c.match = 0;
    return i + 5;
  }
  // The longest tail of this read that begins the terminator.
  m = 0;
  for (let l = Math.min(4, n - pos); l > 0; l--) {
    let ok = true;
    for (let j = 0; j < l; j++)
      if (buf[n - l + j] !== DATA_END[j]) {
        ok = false;
        break;
      }
    if (ok) {
      m = l;
      break;
    }
  }
  c.match = m;
  return -1;
}

/** Write the replies owed for this read: now, or `delay` ms from now. */
function flush(c) {
  const r = c.replies;
  if (r.length === 0) return;
  const out = r.length === 1 ? r[0] : Buffer.concat(r);
  c.replies = [];
  const quit = c.mode === MODE_QUIT;
  if (delay > 0) setTimeout(() => write(c, out, quit), delay);
  else write(c, out, quit);
}

function write(c, out, quit) {
  if (c.closed || c.socket.destroyed) return;
  stats.flushes++;
  c.spoke = true;
  if (DEBUG) trace(c, 'flush', out);
  c.socket.write(out);
  if (quit) c.socket.end();
}

// ---- control ----------------------------------------------------------------------------------

function snapshot() {
  const cpu = process.cpuUsage(stats.cpu);
  const wall = Number(process.hrtime.bigint() - stats.since) / 1e9;
  const { cpu: _c, since: _s, ...counters } = stats;
  return { ...counters, cpuS: (cpu.user + cpu.system) / 1e6, wallS: wall, delay, active };
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return emit({ event: 'error', error: `bad control line: ${line}` });
  }
  if (msg.op === 'reset') {
    if (msg.delay !== undefined) delay = Number(msg.delay);
    if (msg.drop !== undefined) drop = Number(msg.drop);
    stats = freshStats();
    emit({ event: 'reset', delay });
  } else if (msg.op === 'stats') {
    const done = () => emit({ event: 'stats', ...snapshot() });
    if (active === 0) return done();
    let fired = false;
    const once = () => {
      if (!fired) {
        fired = true;
        done();
      }
    };
    idleWaiters.push(once);
    setTimeout(once, Number(msg.waitMs ?? 5000));
  } else if (msg.op === 'exit') {
    process.exit(0);
  }
});
rl.on('close', () => {
  // Standalone use (stdin at EOF, e.g. < /dev/null) keeps serving; a harness ends us with exit.
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      out[k] = v ?? argv[++i];
    }
  }
  return out;
}
