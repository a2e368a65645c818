// Processes for the scale test and the queue throughput script: a private redis-server, the
// logging sink, worker processes (examples/queue/worker.mjs) and the producer
// (examples/queue/producer.mjs). Everything listens on 127.0.0.1, on ports the OS picks, with
// its files in one temp dir.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('../../', import.meta.url).pathname;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-scale-'));
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A child whose JSON stdout lines are kept and can be waited for. */
function child(cmd, argv, opts, label) {
  const p = spawn(cmd, argv, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.add(p);
  p.lines = [];
  p.waiters = [];
  p.exited = new Promise((resolve) =>
    p.on('exit', (code, signal) => {
      children.delete(p);
      resolve({ code, signal });
    }),
  );
  createInterface({ input: p.stdout }).on('line', (line) => {
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      ev = { text: line };
    }
    p.lines.push(ev);
    for (const w of p.waiters.splice(0)) w();
  });
  createInterface({ input: p.stderr }).on('line', (line) => {
    if (process.env.SCALE_DEBUG) console.error(`[${label}] ${line}`);
    p.stderrTail = line;
  });
  p.waitFor = async (pred, ms, what) => {
    const until = Date.now() + ms;
    for (;;) {
      const hit = p.lines.find(pred);
      if (hit) return hit;
      if (p.exitCode !== null || Date.now() > until)
        throw new Error(
          `${label}: no ${what} (${p.exitCode !== null ? `exited ${p.exitCode}` : 'timeout'}; stderr: ${p.stderrTail ?? ''})`,
        );
      await new Promise((r) => {
        p.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return p;
}

/** True when a Redis server answers PING on this port. */
function pong(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (b) => done(b.toString().startsWith('+PONG')));
  });
}

/** redis-server on a free port, no persistence, its files in dir. Retries if the port was taken. */
export async function startRedis(dir) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const p = child(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
        '--maxmemory-policy',
        'noeviction',
      ],
      {},
      'redis',
    );
    const url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      if (p.exitCode !== null) break;
      if (await pong(port)) return { url, port, process: p };
    }
    p.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`redis-server did not start (${p.stderrTail ?? ''})`);
  }
}

export async function startSink(logFile) {
  const p = child(process.execPath, [join(root, 'test/scale/sink.mjs'), '--log', logFile], {}, 'sink');
  const ev = await p.waitFor((e) => e.event === 'listening', 10_000, 'listening line');
  return { port: ev.port, process: p, logFile };
}

/** One worker process (examples/queue/worker.mjs) with env on top of ours. */
export function startWorker(name, env) {
  const p = child(
    process.execPath,
    [join(root, 'examples/queue/worker.mjs')],
    { env: { ...process.env, WORKER_NAME: name, ...env } },
    name,
  );
  p.workerName = name;
  return p;
}

/** Runs the example producer with these compose inputs on stdin; resolves with its summary. */
export async function produce(env, inputs) {
  const p = child(process.execPath, [join(root, 'examples/queue/producer.mjs')], { env: { ...process.env, ...env } }, 'producer');
  for (let i = 0; i < inputs.length; i += 1000) {
    const ok = p.stdin.write(
      inputs
        .slice(i, i + 1000)
        .map((x) => JSON.stringify(x))
        .join('\n') + '\n',
    );
    if (!ok) await new Promise((r) => p.stdin.once('drain', r));
  }
  p.stdin.end();
  const ev = await p.waitFor((e) => e.event === 'queued', 300_000, 'queued line');
  await p.exited;
  return ev;
}

/** Every job of a queue in these states, paged. */
export async function allJobs(queue, states) {
  const out = [];
  for (let start = 0; ; start += 1000) {
    const page = await queue.getJobs(states, start, start + 999, true);
    out.push(...page.filter(Boolean));
    if (page.length < 1000) return out;
  }
}

/** Waits until no job of the queue is waiting, delayed or active and `total` have finished. */
export async function settle(queue, total, ms, onProgress) {
  const until = Date.now() + ms;
  for (;;) {
    const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused', 'completed', 'failed');
    if (onProgress) await onProgress(c);
    if (c.wait + c.active + c.delayed + c.prioritized + c.paused === 0 && c.completed + c.failed >= total) return c;
    if (Date.now() > until) throw new Error(`queue ${queue.name} did not settle: ${JSON.stringify(c)}`);
    await sleep(200);
  }
}

/** The sink's log: acknowledged messages [{ at, id, rcpts }] and refused recipients [{ at, code, address }]. */
export function readSinkLog(file) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* nothing logged yet */
  }
  const acks = [],
    refusals = [];
  for (const line of text.split('\n')) {
    const [at, what, x, y] = line.split(' ');
    if (what === 'ack') acks.push({ at: Number(at), id: x, rcpts: Number(y) });
    else if (what !== undefined) refusals.push({ at: Number(at), code: Number(what), address: x });
  }
  acks.refusals = refusals;
  return acks;
}

export async function stop(p, signal = 'SIGTERM') {
  if (p.exitCode === null && p.signalCode === null) p.kill(signal);
  return p.exited;
}
