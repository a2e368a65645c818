// npm run test:proxy (via test/proxy/run.sh): smtpwire through REAL proxy servers from Debian
// and against real TLS servers, on 127.0.0.1, each with a private configuration in a temp dir:
//
//   microsocks   SOCKS5, once without authentication and once with -u/-P (RFC 1929)
//   danted       Dante: SOCKS5 and SOCKS4a without authentication, a rule that blocks one port
//   tinyproxy    HTTP CONNECT, once open and once with BasicAuth; ConnectPort limits the ports
//   ssh -D       OpenSSH's dynamic forwarding, for SOCKS4a names (Dante resolves none), through
//                a private sshd on loopback
//   smtp-server  (npm) the mail servers behind them: STARTTLS, implicit TLS, and both again
//                requiring a client certificate from the test CA (test/fixtures/pki)
//
// The cases (test/proxy/cases.ts) run in Node here, then in Deno and Bun (test/runtimes/
// proxy-deno.ts, proxy-bun.ts) and inside workerd through Miniflare (test/runtimes/
// proxy-workers.mjs, a Node child) against the same servers. Closing line: "N passed, N failed".
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { connect } from '../../transports/node.ts';
import { proxyCases, runCases, type ProxyConfig } from './cases.ts';

const REPO = new URL('../../../', import.meta.url).pathname; // dist/test/proxy/ -> repo root
const PKI = join(REPO, 'test/fixtures/pki');
const WORK = process.env.SMTPWIRE_PROXY_DIR ?? fail('SMTPWIRE_PROXY_DIR is not set (run test/proxy/run.sh)');
const read = (name: string): string => readFileSync(join(PKI, name), 'utf8');

function fail(message: string): never {
  throw new Error(message);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, what: string, child: ChildProcess, output: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) fail(`${what} exited (${child.exitCode}) before listening:\n${output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  fail(`${what} is not listening on ${port} after 10 s:\n${output()}`);
}

const children: ChildProcess[] = [];
let sshFailure: string | undefined;

async function start(what: string, cmd: string, args: string[], port: number): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.on('error', (err) => (output += `\n${err.message}`));
  await waitForPort(port, what, child, () => output);
  console.log(`  started ${what} on 127.0.0.1:${port} (pid ${child.pid})`);
}

// ---------------------------------------------------------------- mail servers

const USER = 'alice';
const PASS = 'S3cret-pass';

/** The runtime harness's leaf (test/runtimes/fixtures: also for `localhost`, from another CA
 *  than test/fixtures/pki's): a certificate no client of this suite trusts, workerd included. */
const UNTRUSTED = {
  key: readFileSync(join(REPO, 'test/runtimes/fixtures/server.key'), 'utf8'),
  cert: readFileSync(join(REPO, 'test/runtimes/fixtures/server.crt'), 'utf8'),
};

function smtpServer(secure: boolean, requireClientCert: boolean, leaf = { key: read('mail.key'), cert: read('mail.crt') }): SMTPServer {
  return new SMTPServer({
    name: 'localhost',
    banner: 'smtpwire proxy suite',
    secure,
    key: leaf.key,
    cert: leaf.cert,
    ...(requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: read('ca.crt') } : {}),
    logger: false,
    disableReverseLookup: true,
    authMethods: ['PLAIN'],
    authOptional: true,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASS) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const hash = createHash('sha256');
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      stream.on('end', () => {
        const cn = (session as unknown as { clientCn?: string }).clientCn ?? '-';
        callback(
          null,
          `OK sha256=${hash.digest('hex')} size=${size} secure=${Boolean(session.secure)} user=${session.user ?? '-'} cn=${cn} from=${session.remoteAddress}`,
        );
      });
    },
    onSecure(socket, session, callback) {
      const peer = (socket as TLSSocket).getPeerCertificate?.();
      const cn = peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
      if (cn) (session as unknown as { clientCn?: string }).clientCn = cn;
      callback();
    },
  });
}

async function listen(server: SMTPServer): Promise<number> {
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {}); // a client that drops mid-handshake is a test, not a failure
  return port;
}

// ---------------------------------------------------------------- proxies

async function startProxies(ports: ProxyConfig['ports'], proxyUser: string, proxyPass: string) {
  const socks5 = await freePort();
  await start('microsocks (no auth)', 'microsocks', ['-i', '127.0.0.1', '-p', String(socks5)], socks5);
  const socks5Auth = await freePort();
  await start(
    'microsocks (-u -P)',
    'microsocks',
    ['-i', '127.0.0.1', '-p', String(socks5Auth), '-u', proxyUser, '-P', proxyPass],
    socks5Auth,
  );

  const dante = await freePort();
  const danteConf = join(WORK, 'danted.conf');
  writeFileSync(
    danteConf,
    [
      'logoutput: stderr',
      `internal: 127.0.0.1 port = ${dante}`,
      'external: 127.0.0.1',
      'clientmethod: none',
      'socksmethod: none',
      'user.privileged: root',
      'user.unprivileged: nobody',
      'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
      `socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 port = ${ports.blocked} log: error }`,
      'socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }',
      'socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 }',
      '',
    ].join('\n'),
  );
  await start('danted', danted(), ['-f', danteConf, '-N', '1', '-p', join(WORK, 'danted.pid')], dante);

  const tiny = async (name: string, extra: string[]): Promise<number> => {
    const port = await freePort();
    const conf = join(WORK, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 60',
        'MaxClients 50',
        'LogLevel Warning',
        `PidFile "${join(WORK, `${name}.pid`)}"`,
        'Allow 127.0.0.1',
        'DisableViaHeader Yes',
        // CONNECT only to the mail servers' ports: the blocked port is refused with 403.
        ...[ports.starttls, ports.implicit, ports.clientCert, ports.clientCertStarttls, ports.untrusted, ports.closed].map(
          (p) => `ConnectPort ${p}`,
        ),
        ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
        ...extra,
        '',
      ].join('\n'),
    );
    await start(`tinyproxy (${name})`, 'tinyproxy', ['-d', '-c', conf], port);
    return port;
  };
  const http = await tiny('tinyproxy-open', []);
  const httpAuth = await tiny('tinyproxy-auth', [`BasicAuth ${proxyUser} ${proxyPass}`]);
  let socks4a: string | undefined;
  try {
    socks4a = await startSshSocks();
  } catch (err) {
    // Counted as a failure below, never skipped quietly.
    sshFailure = err instanceof Error ? err.message : String(err);
  }
  return {
    socks4a,
    socks5: `socks5://127.0.0.1:${socks5}`,
    socks5Auth: `socks5://127.0.0.1:${socks5Auth}`,
    dante: `socks5://127.0.0.1:${dante}`,
    http: `http://127.0.0.1:${http}`,
    httpAuth: `http://127.0.0.1:${httpAuth}`,
  };
}

/**
 * OpenSSH's dynamic forwarding (`ssh -D`) is the SOCKS4a server here: Dante speaks SOCKS4 but
 * does not resolve 4a names. A private sshd (own host key, own authorized_keys, loopback only)
 * and an ssh client with -D on a free port, both from WORK.
 */
async function startSshSocks(): Promise<string> {
  const sshd = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p)) ?? fail('sshd not found (openssh-server)');
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  };
  const hostKey = join(WORK, 'ssh_host_ed25519_key');
  const userKey = join(WORK, 'id_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  writeFileSync(join(WORK, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  const sshPort = await freePort();
  const conf = join(WORK, 'sshd_config');
  writeFileSync(
    conf,
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(WORK, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(WORK, 'authorized_keys')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'UsePAM no',
      '',
    ].join('\n'),
  );
  await start('sshd', sshd, ['-D', '-e', '-f', conf], sshPort);
  const socks = await freePort();
  await start(
    'ssh -D (SOCKS4/4a/5)',
    'ssh',
    [
      '-N',
      '-D',
      `127.0.0.1:${socks}`,
      '-p',
      String(sshPort),
      '-i',
      userKey,
      '-F',
      '/dev/null',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'LogLevel=ERROR',
      `${userInfo().username}@127.0.0.1`,
    ],
    socks,
  );
  return `socks4a://127.0.0.1:${socks}`;
}

function danted(): string {
  for (const p of ['/usr/sbin/danted', '/usr/bin/danted']) if (existsSync(p)) return p;
  return 'danted';
}

// ---------------------------------------------------------------- runtimes

function runRuntime(name: string, cmd: string, args: string[]): Promise<{ passed: number; failed: number }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      output += d;
      process.stdout.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    const done = (code: number | null): void => {
      clearTimeout(timer);
      const m = /^(\d+) passed, (\d+) failed$/m.exec(output);
      if (!m) {
        console.log(`  FAIL ${name}: no closing count (exit ${code})`);
        return resolve({ passed: 0, failed: 1 });
      }
      const r = { passed: Number(m[1]), failed: Number(m[2]) };
      if (code !== 0 && r.failed === 0) r.failed = 1;
      resolve(r);
    };
    child.on('error', (err) => {
      output += err.message;
      done(null);
    });
    child.on('close', done);
  });
}

function findBin(which: 'deno' | 'bun'): string {
  const candidates = which === 'deno' ? [join(REPO, 'node_modules/deno/deno')] : [join(REPO, 'node_modules/bun/bin/bun.exe')];
  for (const c of candidates) if (existsSync(c) && readFileSync(c).length > 1_000_000) return c;
  fail(`${which} binary not found (run npm ci)`);
}

// ---------------------------------------------------------------- the CLI

/** `smtpwire send` with the connection flags (bin/connect-options.ts), exit status checked. */
async function cliCases(c: ProxyConfig): Promise<{ passed: number; failed: number }> {
  const cli = join(REPO, 'dist/bin/smtpwire-cli.cjs');
  const ca = join(PKI, 'ca.crt');
  const passFile = join(WORK, 'pfx-pass');
  writeFileSync(passFile, `${c.pfxPassphrase}\n`);
  const base = ['send', '--ca', ca, '--from', 'a@example.com', '--to', 'b@example.com', '--text', 'hello through the CLI'];
  const run = (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  const socksUser = c.proxies.socks5Auth.replace('://', `://${c.proxyUser}@`);
  const cases: [string, string[], Record<string, string>, number, RegExp?][] = [
    [
      '--proxy socks5://user@ with $SMTPWIRE_PROXY_PASSWORD, STARTTLS: exit 0',
      ['--server', `smtp+starttls://${c.mailName}:${c.ports.starttls}`, '--proxy', socksUser],
      { SMTPWIRE_PROXY_PASSWORD: c.proxyPass },
      0,
    ],
    [
      '--proxy http:// (CONNECT), smtps://: exit 0',
      ['--server', `smtps://${c.mailName}:${c.ports.implicit}`, '--proxy', c.proxies.http],
      {},
      0,
    ],
    [
      '--proxy with a wrong password: exit 77 (like a failed AUTH)',
      ['--server', `smtp+starttls://${c.mailName}:${c.ports.starttls}`, '--proxy', socksUser],
      { SMTPWIRE_PROXY_PASSWORD: 'wrong' },
      77,
      /rejected the user name or password/,
    ],
    [
      '--proxy to a blocked port: exit 69',
      ['--server', `smtp://${c.mailName}:${c.ports.blocked}`, '--proxy', c.proxies.dante],
      {},
      69,
      /not allowed by ruleset/,
    ],
    [
      '--cert --key to a server that requires a client certificate: exit 0',
      ['--server', `smtps://${c.mailName}:${c.ports.clientCert}`, '--cert', join(PKI, 'client.crt'), '--key', join(PKI, 'client.key')],
      {},
      0,
    ],
    [
      '--pfx --passphrase-file, STARTTLS: exit 0',
      [
        '--server',
        `smtp+starttls://${c.mailName}:${c.ports.clientCertStarttls}`,
        '--pfx',
        join(PKI, 'client.p12'),
        '--passphrase-file',
        passFile,
      ],
      {},
      0,
    ],
    [
      '--tls-min 1.3 --servername --local-address: exit 0',
      ['--server', `smtps://127.0.0.1:${c.ports.implicit}`, '--servername', c.mailName, '--tls-min', '1.3', '--local-address', '127.0.0.2'],
      {},
      0,
    ],
    [
      'smtps:// to a STARTTLS port: exit 69 with the hint',
      ['--server', `smtps://${c.mailName}:${c.ports.starttls}`],
      {},
      69,
      /speaks clear text first/,
    ],
    [
      '--cert without --key: exit 64',
      ['--server', `smtps://${c.mailName}:${c.ports.clientCert}`, '--cert', join(PKI, 'client.crt')],
      {},
      64,
      /--cert needs --key/,
    ],
  ];
  let passed = 0;
  let failed = 0;
  for (const [name, args, env, want, pattern] of cases) {
    const r = await run([...base, ...args], env);
    const good = r.code === want && (!pattern || pattern.test(r.stderr)) && !r.stderr.includes('\\x0a');
    if (good) passed++;
    else failed++;
    console.log(`  ${good ? 'ok  ' : 'FAIL'} cli: ${name}${good ? '' : ` (exit ${r.code})\n${r.stderr}`}`);
  }
  return { passed, failed };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const servers = [
    smtpServer(false, false),
    smtpServer(true, false),
    smtpServer(true, true),
    smtpServer(false, true),
    smtpServer(true, false, UNTRUSTED),
  ];
  const [starttls, implicit, clientCert, clientCertStarttls, untrusted] = (await Promise.all(servers.map(listen))) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ports = { starttls, implicit, clientCert, clientCertStarttls, untrusted, closed: await freePort(), blocked: await freePort() };
  const proxyUser = 'proxyuser';
  const proxyPass = 'Pr0xy-pass';
  const config: ProxyConfig = {
    mailName: 'localhost',
    ports,
    proxies: await startProxies(ports, proxyUser, proxyPass),
    proxyUser,
    proxyPass,
    user: USER,
    pass: PASS,
    ca: read('ca.crt'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    clientPfxBase64: readFileSync(join(PKI, 'client.p12')).toString('base64'),
    pfxPassphrase: 'pfx-secret',
    clientKeyEncrypted: read('client-encrypted.key'),
    keyPassphrase: 'key-secret',
    strangerCert: read('stranger.crt'),
    strangerKey: read('stranger.key'),
  };
  let passed = 0;
  let failed = 0;
  if (sshFailure !== undefined) {
    failed++;
    console.log(`  FAIL OpenSSH SOCKS4a proxy (ssh -D) did not start; its cases cannot run:\n       ${sshFailure}`);
  }
  const only = process.argv[2];
  try {
    if (!only || only === 'node') {
      console.log(`node ${process.version}:`);
      const node = await runCases(
        proxyCases(
          {
            name: 'node',
            connect: (o) => connect(o),
            supports: { clientCert: 'all', pfx: true, encryptedKey: true, minVersion: true, ciphers: true, localAddress: true },
          },
          config,
        ),
      );
      passed += node.passed;
      failed += node.failed;
    }
    if (!only || only === 'node') {
      console.log('smtpwire CLI:');
      const r = await cliCases(config);
      passed += r.passed;
      failed += r.failed;
    }
    const configFile = join(WORK, 'config.json');
    writeFileSync(configFile, JSON.stringify(config));
    if (!only || only === 'deno') {
      const deno = findBin('deno');
      console.log('deno:');
      const r = await runRuntime('deno', deno, [
        'run',
        '--config',
        'test/runtimes/deno.json',
        '--no-lock',
        '--allow-net=127.0.0.1,localhost',
        `--allow-read=${configFile}`,
        'test/runtimes/proxy-deno.ts',
        configFile,
      ]);
      passed += r.passed;
      failed += r.failed;
    }
    if (!only || only === 'bun') {
      const bun = findBin('bun');
      console.log('bun:');
      const r = await runRuntime('bun', bun, ['test/runtimes/proxy-bun.ts', configFile]);
      passed += r.passed;
      failed += r.failed;
    }
    if (!only || only === 'workers') {
      // workerd through Miniflare, from a Node child that sets NODE_EXTRA_CA_CERTS first.
      console.log('workerd (Miniflare):');
      const r = await runRuntime('workers', process.execPath, ['test/runtimes/proxy-workers.mjs', configFile]);
      passed += r.passed;
      failed += r.failed;
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

main().catch((err) => {
  for (const c of children) c.kill('SIGTERM');
  console.error(err instanceof Error ? err.stack : err);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
