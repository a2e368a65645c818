// The proxy, client-certificate and diagnostics cases, runtime-neutral (ECMAScript, Web Crypto):
// run by test/proxy/proxy.ts in Node and, through test/runtimes/proxy-{deno,bun}.ts and
// proxy-workers.mjs, in Deno, Bun and workerd, against the real proxies (microsocks, Dante, tinyproxy) and smtp-server instances
// that test/proxy/proxy.ts starts. Each case throws on failure.
import type { ClientOptions, SmtpClient } from '../../client/client.ts';

export interface ProxyConfig {
  /** The mail server name the proxies resolve (the test certificate's only name). */
  mailName: string;
  ports: {
    starttls: number; // smtp-server, STARTTLS offered, AUTH PLAIN after TLS
    implicit: number; // smtp-server, TLS from the first byte
    clientCert: number; // smtp-server, implicit TLS, requires a client certificate from the test CA
    clientCertStarttls: number; // the same over STARTTLS
    untrusted: number; // smtp-server, implicit TLS, a `localhost` certificate from a CA no client here trusts
    closed: number; // nothing listens
    blocked: number; // Dante's rules forbid it; tinyproxy's ConnectPort omits it
  };
  proxies: {
    socks5: string; // microsocks, no authentication
    socks5Auth: string; // microsocks -u -P (without the credentials; cases add them)
    dante: string; // Dante, SOCKS5 and SOCKS4a, no authentication, a block rule
    http: string; // tinyproxy
    httpAuth: string; // tinyproxy with BasicAuth (without the credentials)
    socks4a?: string; // OpenSSH's dynamic forwarding (ssh -D): SOCKS4, SOCKS4a and SOCKS5
  };
  proxyUser: string;
  proxyPass: string;
  user: string;
  pass: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  clientPfxBase64: string;
  clientKeyEncrypted: string;
  keyPassphrase: string;
  pfxPassphrase: string;
  strangerCert: string;
  strangerKey: string;
}

export interface ProxyRuntime {
  name: string;
  connect(options: Omit<ClientOptions, 'transport'>): Promise<SmtpClient>;
  /** What this runtime's transport honours; the rest must be refused with EUSAGE. */
  supports: {
    clientCert: 'all' | 'implicit' | 'none';
    pfx: boolean;
    encryptedKey: boolean;
    minVersion: boolean;
    ciphers: boolean;
    localAddress: boolean;
  };
  /** False where the runtime cannot be given a CA (Workers): the harness makes it trust the
   *  test CA instead, so "no `ca`, so the certificate is untrusted" cannot be provoked there. */
  takesCa?: boolean;
  /** False where the runtime reports a TLS handshake with a clear-text server only as a failed
   *  connection (workerd), so the "speaks clear text first" hint cannot be given. */
  tellsClearTextPort?: boolean;
}

export interface Case {
  name: string;
  run(): Promise<void>;
}

const enc = new TextEncoder();

function fail(message: string): never {
  throw new Error(message);
}

function expect(cond: unknown, message: string): asserts cond {
  if (!cond) fail(message);
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Send one message and check the server got it byte for byte, over TLS when `secure`. */
async function deliver(
  client: SmtpClient,
  tag: string,
  want: { secure: boolean; user?: string; cn?: string; from?: string },
): Promise<void> {
  const body = enc.encode(
    `From: a@example.com\r\nTo: b@example.com\r\nSubject: ${tag}\r\n\r\nthrough the tunnel: ${tag}\r\n.leading dot\r\n`,
  );
  try {
    const result = await client.send({ from: 'a@example.com', to: ['b@example.com'], body });
    expect(result.outcome === 'accepted', `outcome ${result.outcome}: ${result.error?.message ?? ''}`);
    const text = result.reply?.lines.join(' ') ?? '';
    const m = /sha256=([0-9a-f]{64}) size=(\d+) secure=(true|false) user=(\S+) cn=(\S+) from=(\S+)/.exec(text);
    expect(m, `unexpected final reply: ${text}`);
    // The server hashes the body as it was before dot-stuffing: the original.
    expect(m[1] === (await sha256(body)), `body hash differs: ${text}`);
    expect(m[3] === String(want.secure), `secure=${m[3]}, wanted ${want.secure}`);
    if (want.user) expect(m[4] === want.user, `user=${m[4]}, wanted ${want.user}`);
    if (want.cn) expect(m[5] === want.cn, `client certificate cn=${m[5]}, wanted ${want.cn}`);
    if (want.from) expect(m[6] === want.from, `the server saw the client at ${m[6]}, wanted ${want.from}`);
  } finally {
    await client.close();
  }
}

/** Expect connect() to fail with this code (and message pattern); returns the error. */
async function refused(
  connecting: Promise<SmtpClient>,
  code: string,
  pattern: RegExp,
  extra?: (err: Record<string, unknown>) => void,
): Promise<void> {
  let client: SmtpClient | undefined;
  try {
    client = await connecting;
  } catch (err) {
    const e = err as Record<string, unknown>;
    const message = String(e.message);
    expect(e.code === code, `code ${String(e.code)}, wanted ${code}: ${message}`);
    expect(pattern.test(message), `message does not match ${pattern}: ${message}`);
    expect(!/\\x0a|\n/.test(message), `message is not one printable line: ${message}`);
    extra?.(e);
    return;
  }
  await client.close();
  fail(`connected, but it should have failed with ${code}`);
}

function withCreds(url: string, user: string, pass: string): string {
  return url.replace('://', `://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`);
}

export function proxyCases(rt: ProxyRuntime, c: ProxyConfig): Case[] {
  const trust = { ca: c.ca };
  const host = c.mailName;
  const auth = { user: c.user, pass: c.pass };
  const cases: Case[] = [];
  const add = (name: string, run: () => Promise<void>): void => {
    cases.push({ name: `${rt.name}: ${name}`, run });
  };
  const socks5Auth = withCreds(c.proxies.socks5Auth, c.proxyUser, c.proxyPass);
  const httpAuth = withCreds(c.proxies.httpAuth, c.proxyUser, c.proxyPass);
  const socks4a = c.proxies.dante.replace('socks5://', 'socks4a://');

  // ---- tunnels that work, each with the server's certificate checked for the mail server's
  // name: the certificate names only `localhost`, the proxies are dialled at 127.0.0.1.
  add('SOCKS5 (microsocks, no auth) + STARTTLS + AUTH', async () => {
    const client = await rt.connect({ host, port: c.ports.starttls, tls: 'required-starttls', proxy: c.proxies.socks5, auth, ...trust });
    await deliver(client, 'socks5-starttls', { secure: true, user: c.user });
  });
  add('SOCKS5 (microsocks, user/pass RFC 1929) + STARTTLS', async () => {
    const client = await rt.connect({ host, port: c.ports.starttls, tls: 'required-starttls', proxy: socks5Auth, ...trust });
    await deliver(client, 'socks5-auth', { secure: true });
  });
  add('SOCKS5 (microsocks, user/pass) + implicit TLS', async () => {
    const client = await rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: socks5Auth, auth, ...trust });
    await deliver(client, 'socks5-implicit', { secure: true, user: c.user });
  });
  add('SOCKS5 (Dante) + implicit TLS', async () => {
    const client = await rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: c.proxies.dante, ...trust });
    await deliver(client, 'dante-implicit', { secure: true });
  });
  add('SOCKS5 (Dante) to an IP literal (ATYP 1) with servername', async () => {
    const client = await rt.connect({
      host: '127.0.0.1',
      servername: host,
      port: c.ports.starttls,
      tls: 'required-starttls',
      proxy: c.proxies.dante,
      ...trust,
    });
    await deliver(client, 'dante-ip', { secure: true });
  });
  // Dante speaks SOCKS4 but not the 4a name extension: an IPv4 literal goes as plain SOCKS4.
  add('SOCKS4 (Dante, IPv4 literal, servername) + STARTTLS', async () => {
    const client = await rt.connect({
      host: '127.0.0.1',
      servername: host,
      port: c.ports.starttls,
      tls: 'required-starttls',
      proxy: socks4a,
      ...trust,
    });
    await deliver(client, 'socks4', { secure: true });
  });
  add('SOCKS4 (Dante, IPv4 literal, servername) + implicit TLS', async () => {
    const client = await rt.connect({
      host: '127.0.0.1',
      servername: host,
      port: c.ports.implicit,
      tls: 'implicit',
      proxy: socks4a,
      ...trust,
    });
    await deliver(client, 'socks4-implicit', { secure: true });
  });
  add('SOCKS4a name to Dante (which does not resolve 4a names): EPROXY refused, not a hang', async () => {
    await refused(rt.connect({ host, port: c.ports.starttls, proxy: socks4a }), 'EPROXY', /SOCKS4a proxy could not connect to localhost/);
  });
  if (c.proxies.socks4a) {
    add('SOCKS4a (OpenSSH -D, name resolved by the proxy) + STARTTLS', async () => {
      const client = await rt.connect({
        host,
        port: c.ports.starttls,
        tls: 'required-starttls',
        proxy: c.proxies.socks4a!,
        auth,
        ...trust,
      });
      await deliver(client, 'socks4a', { secure: true, user: c.user });
    });
    add('SOCKS4a (OpenSSH -D) + implicit TLS', async () => {
      const client = await rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: c.proxies.socks4a!, ...trust });
      await deliver(client, 'socks4a-implicit', { secure: true });
    });
    add('SOCKS5 (OpenSSH -D) + STARTTLS', async () => {
      const client = await rt.connect({
        host,
        port: c.ports.starttls,
        tls: 'required-starttls',
        proxy: c.proxies.socks4a!.replace('socks4a://', 'socks5://'),
        ...trust,
      });
      await deliver(client, 'ssh-socks5', { secure: true });
    });
  }
  add('HTTP CONNECT (tinyproxy, no auth) + STARTTLS', async () => {
    const client = await rt.connect({ host, port: c.ports.starttls, tls: 'required-starttls', proxy: c.proxies.http, auth, ...trust });
    await deliver(client, 'http-starttls', { secure: true, user: c.user });
  });
  add('HTTP CONNECT (tinyproxy, no auth) + implicit TLS', async () => {
    const client = await rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: c.proxies.http, ...trust });
    await deliver(client, 'http-implicit', { secure: true });
  });
  add('HTTP CONNECT (tinyproxy, Basic auth) + STARTTLS', async () => {
    const client = await rt.connect({ host, port: c.ports.starttls, tls: 'required-starttls', proxy: httpAuth, ...trust });
    await deliver(client, 'http-auth', { secure: true });
  });
  add('HTTP CONNECT (tinyproxy, Basic auth) + implicit TLS', async () => {
    const client = await rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: httpAuth, auth, ...trust });
    await deliver(client, 'http-auth-implicit', { secure: true, user: c.user });
  });

  // ---- the certificate is checked against the mail server's name, inside the tunnel
  add('a certificate for another name fails inside the tunnel (implicit TLS)', async () => {
    await refused(
      rt.connect({ host, servername: 'mail.example.net', port: c.ports.implicit, tls: 'implicit', proxy: c.proxies.socks5, ...trust }),
      'ETLS',
      /not issued for the name|certificate|name/i,
    );
  });
  add('a certificate for another name fails inside the tunnel (STARTTLS)', async () => {
    await refused(
      rt.connect({
        host,
        servername: 'mail.example.net',
        port: c.ports.starttls,
        tls: 'required-starttls',
        proxy: c.proxies.http,
        ...trust,
      }),
      'ETLS',
      /certificate|name/i,
    );
  });
  if (rt.takesCa !== false) {
    add('an untrusted certificate through the tunnel names the reason and --ca', async () => {
      await refused(rt.connect({ host, port: c.ports.implicit, tls: 'implicit', proxy: c.proxies.dante }), 'ETLS', /ca/i);
    });
  }
  // Also where the test CA is trusted runtime-wide (workerd): a certificate from another CA.
  add('a certificate from a CA the client does not trust fails inside the tunnel', async () => {
    await refused(
      rt.connect({ host, port: c.ports.untrusted, tls: 'implicit', proxy: c.proxies.socks5, ...trust }),
      'ETLS',
      /certificate/i,
    );
  });

  // ---- the proxy says no
  add('SOCKS5 wrong password: EPROXY auth', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, proxy: withCreds(c.proxies.socks5Auth, c.proxyUser, 'wrong'), ...trust }),
      'EPROXY',
      /rejected the user name or password/,
      (e) => expect(e.reason === 'auth', `reason ${String(e.reason)}`),
    );
  });
  add('SOCKS5 proxy wants auth, none given: EPROXY auth', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, proxy: c.proxies.socks5Auth, ...trust }),
      'EPROXY',
      /requires authentication/,
      (e) => expect(e.reason === 'auth', `reason ${String(e.reason)}`),
    );
  });
  add('SOCKS5 (Dante) target blocked by rule: EPROXY refused, "not allowed by ruleset"', async () => {
    await refused(rt.connect({ host, port: c.ports.blocked, proxy: c.proxies.dante }), 'EPROXY', /not allowed by ruleset/, (e) => {
      expect(e.reason === 'refused', `reason ${String(e.reason)}`);
      expect(e.transient === false, 'a ruleset refusal is permanent');
    });
  });
  add('SOCKS5 (microsocks) target port closed: EPROXY refused', async () => {
    await refused(
      rt.connect({ host, port: c.ports.closed, proxy: c.proxies.socks5 }),
      'EPROXY',
      /could not connect to localhost:\d+/,
      (e) => expect(e.reason === 'refused', `reason ${String(e.reason)}`),
    );
  });
  add('SOCKS4a (Dante) target blocked: EPROXY refused', async () => {
    await refused(rt.connect({ host, port: c.ports.blocked, proxy: socks4a }), 'EPROXY', /SOCKS4a proxy could not connect/);
  });
  add('HTTP CONNECT wrong password: EPROXY auth (tinyproxy answers 401)', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, proxy: withCreds(c.proxies.httpAuth, c.proxyUser, 'wrong'), ...trust }),
      'EPROXY',
      /rejected the user name or password \(40[17]/,
      (e) => expect(e.reason === 'auth', `reason ${String(e.reason)}`),
    );
  });
  add('HTTP CONNECT proxy wants auth, none given: EPROXY auth (407)', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, proxy: c.proxies.httpAuth, ...trust }),
      'EPROXY',
      /requires authentication \(407/,
    );
  });
  add('HTTP CONNECT to a port the proxy forbids: EPROXY refused (403)', async () => {
    await refused(rt.connect({ host, port: c.ports.blocked, proxy: c.proxies.http }), 'EPROXY', /403/, (e) =>
      expect(e.reason === 'refused', `reason ${String(e.reason)}`),
    );
  });
  add('wrong kind of proxy (socks5:// to tinyproxy): EPROXY within the connect deadline', async () => {
    // tinyproxy waits for the rest of an HTTP request line that never comes: the deadline ends it.
    const started = Date.now();
    await refused(
      rt.connect({ host, port: c.ports.starttls, timeouts: { connect: 1500 }, proxy: c.proxies.http.replace('http://', 'socks5://') }),
      'EPROXY',
      /proxy/,
      (e) => {
        expect(e.reason === 'timeout' || e.reason === 'protocol' || e.reason === 'closed', `reason ${String(e.reason)}`);
      },
    );
    expect(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
  add('wrong kind of proxy (http:// to a SOCKS5 proxy): EPROXY', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, timeouts: { connect: 3000 }, proxy: c.proxies.socks5.replace('socks5://', 'http://') }),
      'EPROXY',
      /proxy/,
    );
  });
  add('no proxy listening: ECONNECTION naming the proxy', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, proxy: `socks5://127.0.0.1:${c.ports.closed}` }),
      'ECONNECTION',
      /proxy socks5:\/\/127\.0\.0\.1/,
    );
  });

  // ---- client certificates (server requires one signed by the test CA)
  const certOk = rt.supports.clientCert;
  add(`client certificate (cert + key), implicit TLS${certOk === 'none' ? ': refused with EUSAGE' : ''}`, async () => {
    const opts = { host, port: c.ports.clientCert, tls: 'implicit' as const, cert: c.clientCert, key: c.clientKey, ...trust };
    if (certOk === 'none') return refused(rt.connect(opts), 'EUSAGE', /cert/);
    await deliver(await rt.connect(opts), 'client-cert', { secure: true, cn: 'alice@smtpwire.test' });
  });
  add(`client certificate (cert + key), STARTTLS${certOk !== 'all' ? ': refused with EUSAGE' : ''}`, async () => {
    const opts = {
      host,
      port: c.ports.clientCertStarttls,
      tls: 'required-starttls' as const,
      cert: c.clientCert,
      key: c.clientKey,
      ...trust,
    };
    if (certOk !== 'all') return refused(rt.connect(opts), 'EUSAGE', /cert/);
    await deliver(await rt.connect(opts), 'client-cert-starttls', { secure: true, cn: 'alice@smtpwire.test' });
  });
  add(`client certificate through a SOCKS5 tunnel, implicit TLS${certOk !== 'all' ? ': refused with EUSAGE' : ''}`, async () => {
    const opts = {
      host,
      port: c.ports.clientCert,
      tls: 'implicit' as const,
      cert: c.clientCert,
      key: c.clientKey,
      proxy: c.proxies.socks5,
      ...trust,
    };
    if (certOk !== 'all') return refused(rt.connect(opts), 'EUSAGE', /cert/);
    await deliver(await rt.connect(opts), 'client-cert-proxy', { secure: true, cn: 'alice@smtpwire.test' });
  });
  if (certOk !== 'none') {
    add('no client certificate: the server refuses the handshake', async () => {
      await refusedSomehow(rt.connect({ host, port: c.ports.clientCert, tls: 'implicit', ...trust }));
    });
    add('an untrusted client certificate: the server refuses the handshake', async () => {
      await refusedSomehow(
        rt.connect({ host, port: c.ports.clientCert, tls: 'implicit', cert: c.strangerCert, key: c.strangerKey, ...trust }),
      );
    });
  }
  add(`client certificate as PKCS#12 (pfx + passphrase)${rt.supports.pfx ? '' : ': refused with EUSAGE'}`, async () => {
    const pfx = Uint8Array.from(atob(c.clientPfxBase64), (ch) => ch.charCodeAt(0));
    const opts = { host, port: c.ports.clientCert, tls: 'implicit' as const, pfx, passphrase: c.pfxPassphrase, ...trust };
    if (!rt.supports.pfx) return refused(rt.connect(opts), 'EUSAGE', /pfx/);
    await deliver(await rt.connect(opts), 'client-pfx', { secure: true, cn: 'alice@smtpwire.test' });
  });
  add(`client certificate with an encrypted key + passphrase${rt.supports.encryptedKey ? '' : ': refused with EUSAGE'}`, async () => {
    const opts = {
      host,
      port: c.ports.clientCert,
      tls: 'implicit' as const,
      cert: c.clientCert,
      key: c.clientKeyEncrypted,
      passphrase: c.keyPassphrase,
      ...trust,
    };
    // With no client certificate at all, the refusal names `cert` (the first option it meets).
    if (!rt.supports.encryptedKey) return refused(rt.connect(opts), 'EUSAGE', certOk === 'none' ? /`cert`/ : /passphrase/);
    await deliver(await rt.connect(opts), 'client-key-passphrase', { secure: true, cn: 'alice@smtpwire.test' });
  });
  add(`minVersion TLSv1.3${rt.supports.minVersion ? '' : ': refused with EUSAGE'}`, async () => {
    const opts = { host, port: c.ports.implicit, tls: 'implicit' as const, minVersion: 'TLSv1.3' as const, ...trust };
    if (!rt.supports.minVersion) return refused(rt.connect(opts), 'EUSAGE', /minVersion/);
    await deliver(await rt.connect(opts), 'tls13', { secure: true });
  });
  add(
    `ciphers${rt.supports.ciphers ? ': one chosen suite works, a list the server cannot share fails' : ': refused with EUSAGE'}`,
    async () => {
      const opts = { host, port: c.ports.implicit, tls: 'implicit' as const, ciphers: 'TLS_AES_256_GCM_SHA384', ...trust };
      if (!rt.supports.ciphers) return refused(rt.connect(opts), 'EUSAGE', /ciphers/);
      await deliver(await rt.connect(opts), 'ciphers', { secure: true });
      // Only an RSA key exchange for TLS 1.2 and a TLS 1.3 suite servers leave off by default:
      // nothing this server (ECDSA certificate, default suites) can agree to.
      await refusedSomehow(rt.connect({ ...opts, ciphers: 'AES128-SHA:TLS_AES_128_CCM_8_SHA256' }));
    },
  );
  add(`localAddress 127.0.0.2 is the source the server sees${rt.supports.localAddress ? '' : ': refused with EUSAGE'}`, async () => {
    const opts = { host, port: c.ports.starttls, tls: 'required-starttls' as const, localAddress: '127.0.0.2', ...trust };
    if (!rt.supports.localAddress) return refused(rt.connect(opts), 'EUSAGE', /localAddress/);
    await deliver(await rt.connect(opts), 'local-address', { secure: true, from: '127.0.0.2' });
  });

  // ---- diagnostics
  const hint = rt.tellsClearTextPort !== false;
  add(
    `smtps:// to a STARTTLS port: ${hint ? 'ETLS with the hint' : 'ECONNECTION (workerd cannot tell it from a closed port)'}, within seconds`,
    async () => {
      const started = Date.now();
      if (hint) await refused(rt.connect({ host, port: c.ports.starttls, tls: 'implicit', ...trust }), 'ETLS', /speaks clear text first/);
      else
        await refused(
          rt.connect({ host, port: c.ports.starttls, tls: 'implicit', ...trust }),
          'ECONNECTION',
          /cannot connect to localhost:\d+/,
        );
      expect(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    },
  );
  add(`smtps:// to a STARTTLS port through a proxy: ETLS${hint ? ' with the hint' : ''}`, async () => {
    // The hint comes from the TLS library's words, or from the tunnel when the greeting arrived
    // with the proxy's reply. workerd gives no words: a greeting that came after its
    // ClientHello ends as a closed stream, with the transport's explanation.
    await refused(
      rt.connect({ host, port: c.ports.starttls, tls: 'implicit', proxy: c.proxies.socks5, ...trust }),
      'ETLS',
      hint ? /clear text/ : /clear text|closed before the first byte over TLS/,
    );
  });
  add('STARTTLS to an implicit-TLS port: the greeting timeout says why', async () => {
    await refused(
      rt.connect({ host, port: c.ports.implicit, tls: 'starttls', timeouts: { greeting: 1500 }, ...trust }),
      'ETIMEOUT',
      /speaks TLS from the first byte, use smtps:\/\//,
    );
  });
  add('a user name without a password says so', async () => {
    await refused(
      rt.connect({ host, port: c.ports.starttls, tls: 'required-starttls', auth: { user: c.user }, ...trust }),
      'EAUTH',
      /no password/,
    );
  });
  return cases;
}

/** The handshake was refused (by the server or the runtime): any ETLS / ECONNECTION failure. */
async function refusedSomehow(connecting: Promise<SmtpClient>): Promise<void> {
  let client: SmtpClient | undefined;
  try {
    client = await connecting;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    expect(code === 'ETLS' || code === 'ECONNECTION', `code ${String(code)}: ${String((err as Error).message)}`);
    return;
  }
  // TLS 1.3: the server's refusal of our certificate may only show at the first read.
  try {
    const r = await client.send({ from: 'a@example.com', to: ['b@example.com'], body: 'x\r\n' });
    expect(r.outcome !== 'accepted', 'the server accepted a message from a client it should have refused');
  } finally {
    await client.close();
  }
}

/** Run the cases in order; print one line each and the closing count. */
export async function runCases(cases: Case[], log: (line: string) => void = console.log): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const started = Date.now();
    try {
      await c.run();
      passed++;
      log(`  ok   ${c.name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      log(`  FAIL ${c.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { passed, failed };
}
