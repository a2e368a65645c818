// The Node side of the runtime interop tests: real smtp-server instances on loopback that the
// client under test (running in Deno, Bun or workerd) talks to.
//   plain     no STARTTLS, no AUTH
//   starttls  STARTTLS offered (test certificate), AUTH PLAIN after TLS (alice / secret)
//   implicit  TLS from the first byte (port-465 style), AUTH PLAIN
// Every server rejects recipients whose local part starts with "reject" (550) and answers the
// end of data with "250 OK sha256=<hex> size=<octets> rcpt=<n> secure=<bool> user=<name|->" so
// the client can prove byte-exact delivery without a side channel. A message that starts with a
// DKIM-Signature field is also verified as received, by mailauth and by dkimpy (Debian's
// python3-dkim), against the key pair made here (config.dkim): " dkim=pass,pass" per verifier.
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { SMTPServer } from 'smtp-server';

// The DKIM key the runtime under test signs with; verifiers get its record from here.
const dkimPair = generateKeyPairSync('ed25519');
const DKIM = { domain: 'signer.test', selector: 'rt', privateKey: dkimPair.privateKey.export({ type: 'pkcs8', format: 'pem' }) };
const DKIM_RECORDS = {
  'rt._domainkey.signer.test': `v=DKIM1; k=ed25519; p=${dkimPair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64')}`,
};
const DKIM_PY = new URL('../dkim_verify.py', import.meta.url).pathname;

/** "mailauth=pass,... dkimpy=pass,..." for a received message: one verdict per signature. */
async function dkimVerdicts(message) {
  const resolver = async (name, type) => {
    const txt = type === 'TXT' ? DKIM_RECORDS[name.toLowerCase().replace(/\.$/, '')] : undefined;
    if (txt === undefined) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    return [[txt]];
  };
  const ma = await dkimVerify(message, { resolver });
  const mailauth = ma.results.map((r) => r.status.result).join(',');
  const py = spawnSync('/usr/bin/python3', [DKIM_PY], {
    input: JSON.stringify({ records: DKIM_RECORDS, messages: [message.toString('base64')] }),
    encoding: 'utf8',
  });
  const dkimpy =
    py.status === 0
      ? JSON.parse(py.stdout)[0]
          .results.map((ok) => (ok ? 'pass' : 'fail'))
          .join(',')
      : `error(exit-${py.status})`;
  return `mailauth=${mailauth || 'none'} dkimpy=${dkimpy || 'none'}`;
}

// A CA and a leaf it signed (CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, CA:FALSE,
// serverAuth), made with openssl (test/runtimes/fixtures/README.md). Not test/fixtures'
// self-signed certificate: rustls (Deno) and BoringSSL (workerd) refuse a CA certificate used
// as the server's own ("CaUsedAsEndEntity"), as they should.
const fixtures = new URL('./fixtures/', import.meta.url);
export const CA_PEM = readFileSync(new URL('ca.crt', fixtures), 'utf8');
const CERT_PEM = readFileSync(new URL('server.crt', fixtures), 'utf8');
const KEY_PEM = readFileSync(new URL('server.key', fixtures), 'utf8');

export const USER = 'alice';
export const PASS = 'secret';

function options(extra) {
  return {
    name: 'mx.test',
    banner: 'smtpwire runtime interop',
    size: 64 * 1024 * 1024,
    logger: false,
    disableReverseLookup: true,
    maxClients: 64,
    key: KEY_PEM,
    cert: CERT_PEM,
    authMethods: ['PLAIN'],
    authOptional: true,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASS) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (/^reject/i.test(address.address)) {
        return callback(Object.assign(new Error(`<${address.address}> no such user`), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const hash = createHash('sha256');
      let size = 0;
      let signed; // the chunks of a message that starts with DKIM-Signature, kept to verify it
      stream.on('data', (chunk) => {
        if (size === 0 && /^DKIM-Signature:/i.test(chunk.subarray(0, 15).toString('latin1'))) signed = [];
        size += chunk.length;
        hash.update(chunk);
        signed?.push(chunk);
      });
      stream.on('end', async () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error('too big'), { responseCode: 552 }));
        const rcpt = session.envelope.rcptTo.length;
        const dkim = signed
          ? ` ${await dkimVerdicts(Buffer.concat(signed)).catch((e) => `dkim-error=${String(e.message).replace(/\s+/g, '_')}`)}`
          : '';
        callback(
          null,
          `OK sha256=${hash.digest('hex')} size=${size} rcpt=${rcpt} secure=${Boolean(session.secure)} user=${session.user ?? '-'}${dkim}`,
        );
      });
    },
    ...extra,
  };
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.on('error', () => {}); // a client dropping mid-session is not a harness failure
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.server.address().port));
  });
}

/**
 * A STARTTLS injector (the attack of RFC 3207 §5 / CVE-2011-0411): it answers STARTTLS with 220
 * and then, still in clear, "250 injected" - in the same write (`later` false: the bytes arrive
 * with the 220) or 50 ms later (`later` true: they arrive while the client is in its handshake).
 * It never speaks TLS. A correct client must not take those bytes as post-TLS input.
 */
function injector(later) {
  return createServer((socket) => {
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.write('220 injector ESMTP\r\n');
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let nl;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl).toUpperCase();
        buf = buf.slice(nl + 2);
        if (line.startsWith('EHLO')) socket.write('250-injector\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
        else if (line === 'STARTTLS') {
          const injected = '250-injected\r\n250 AUTH PLAIN\r\n';
          if (later) {
            socket.write('220 go ahead\r\n');
            setTimeout(() => socket.end(injected), 50);
          } else socket.end('220 go ahead\r\n' + injected);
          buf = '';
          return;
        } else socket.write('503 no\r\n');
      }
    });
  });
}

function listenRaw(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

/** A loopback port nothing listens on (bound, then released): connecting to it is refused. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Minimal proxies for the runtime interop set (the runtime's own path through a tunnel, in
 * workerd too): SOCKS5 without authentication and HTTP CONNECT, loopback targets only. Real
 * proxy servers (microsocks, Dante, tinyproxy, ssh -D) are in test/proxy/.
 */
function relay(kind) {
  const live = new Set();
  const server = createServer((client) => {
    live.add(client);
    client.on('close', () => live.delete(client));
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage = 0;
    const open = (host, port, ok, bad) => {
      if (!['127.0.0.1', 'localhost'].includes(host)) return bad();
      const upstream = netConnect(port, '127.0.0.1');
      live.add(upstream);
      upstream.on('close', () => live.delete(upstream));
      upstream.on('error', bad);
      upstream.once('connect', () => {
        upstream.off('error', bad);
        upstream.on('error', () => client.destroy());
        client.write(ok);
        client.pipe(upstream).pipe(client);
      });
    };
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (kind === 'socks5') {
        if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]) {
          buf = buf.subarray(2 + buf[1]);
          stage = 1;
          client.write(Buffer.from([5, 0]));
        }
        if (stage !== 1 || buf.length < 5) return;
        const atyp = buf[3];
        const len = atyp === 1 ? 4 : atyp === 3 ? 1 + buf[4] : 16;
        if (buf.length < 4 + len + 2) return;
        const host = atyp === 1 ? [...buf.subarray(4, 8)].join('.') : atyp === 3 ? buf.subarray(5, 5 + buf[4]).toString('latin1') : '::';
        const port = buf.readUInt16BE(4 + len);
        client.off('data', onData);
        stage = 2;
        open(host, port, Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]), () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      } else {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.1\r\n/.exec(buf.toString('latin1'));
        client.off('data', onData);
        if (!m) return client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        open(m[1], Number(m[2]), 'HTTP/1.1 200 Connection established\r\n\r\n', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
      }
    };
    client.on('data', onData);
  });
  // Closing the harness drops tunnels still open (server.close waits for them otherwise).
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const socket of live) socket.destroy();
    return close(cb);
  };
  return server;
}

/** Start the three servers; resolves with the config the in-runtime tests need and a closer. */
export async function startServers() {
  const servers = {
    plain: new SMTPServer(options({ disabledCommands: ['STARTTLS', 'AUTH'] })),
    starttls: new SMTPServer(options({})),
    implicit: new SMTPServer(options({ secure: true })),
  };
  const ports = {};
  for (const [name, server] of Object.entries(servers)) ports[name] = await listen(server);
  ports.closed = await closedPort();
  const hostile = [injector(false), injector(true)];
  ports.injectSameRead = await listenRaw(hostile[0]);
  ports.injectLater = await listenRaw(hostile[1]);
  const proxies = [relay('socks5'), relay('http')];
  ports.socks5 = await listenRaw(proxies[0]);
  ports.httpProxy = await listenRaw(proxies[1]);
  // A message file for the fileBody tests (runtimes with files read it; Deno gets --allow-read for it).
  const file = join(tmpdir(), `smtpwire-runtime-${process.pid}.eml`);
  writeFileSync(file, messageFile(3 * 1024 * 1024 + 5));
  const config = { host: '127.0.0.1', tlsName: 'localhost', ports, user: USER, pass: PASS, ca: CA_PEM, file, dkim: DKIM };
  const close = () =>
    Promise.all([
      ...Object.values(servers).map((s) => new Promise((r) => s.close(r))),
      ...[...hostile, ...proxies].map((s) => new Promise((r) => s.close(r))),
    ]).finally(() => rmSync(file, { force: true }));
  return { config, close };
}

/** About `size` octets of CRLF text (some lines start with "."), different every line. */
function messageFile(size) {
  const lines = ['From: a@example.com', 'To: b@example.com', 'Subject: a file', ''];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const line = `${i % 11 === 0 ? '.' : ''}${i} ${createHash('sha256').update(String(i)).digest('base64')}`.repeat(1 + (i % 5));
    lines.push(line);
    n += line.length + 2;
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * A minimal SMTP sink for timing transports (bun-bench.ts): greets at once (smtp-server waits
 * ~100 ms before its greeting), offers PIPELINING and STARTTLS, answers each message with 250.
 * No parsing beyond what that takes; not for correctness tests.
 */
export async function startSink() {
  const { createSecureContext, TLSSocket } = await import('node:tls');
  const context = createSecureContext({ key: KEY_PEM, cert: CERT_PEM });
  const END = Buffer.from('\r\n.\r\n');
  const serve = (socket, secure) => {
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let inData = false;
    const onData = (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let out = '';
      for (;;) {
        if (inData) {
          const at = buf.indexOf(END);
          if (at < 0) {
            // keep only a tail that could begin the terminator
            if (buf.length > 4) buf = buf.subarray(buf.length - 4);
            break;
          }
          buf = buf.subarray(at + END.length);
          inData = false;
          out += '250 OK\r\n';
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.subarray(0, nl).toString('latin1').toUpperCase();
        buf = buf.subarray(nl + 2);
        if (line.startsWith('EHLO'))
          out += `250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n${secure ? '' : '250-STARTTLS\r\n'}250 SIZE 104857600\r\n`;
        else if (line === 'STARTTLS') {
          socket.off('data', onData);
          socket.write(out + '220 go\r\n');
          const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
          tls.on('error', () => {});
          serve(tls, true);
          return;
        } else if (line === 'DATA') {
          out += '354 go\r\n';
          inData = true;
          buf = Buffer.concat([Buffer.from('\r\n'), buf]); // a message may be empty: "\r\n.\r\n"
        } else if (line === 'QUIT') {
          socket.end(out + '221 bye\r\n');
          return;
        } else out += '250 OK\r\n';
      }
      if (out) socket.write(out);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  };
  const server = createServer((socket) => {
    serve(socket, false);
    socket.write('220 sink ESMTP\r\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}
