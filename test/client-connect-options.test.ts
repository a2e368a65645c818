// The TLS/socket options' checks (client/tls-options.ts), the CLI's connection flags
// (bin/connect-options.ts), and a transport refusing what its runtime cannot do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectOptions } from '../bin/connect-options.ts';
import { connect } from '../client/client.ts';
import { refuseUnsupported, tlsParams } from '../client/tls-options.ts';
import type { ConnectParams, Transport } from '../client/transport.ts';
import { SmtpProxyError, SmtpUsageError } from '../core/errors.ts';
import { EXIT, exitCodeFor } from '../bin/exit-codes.ts';

const usage = (f: () => unknown, pattern: RegExp): void => {
  try {
    f();
  } catch (err) {
    assert.instance(err, SmtpUsageError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`no usage error (wanted ${pattern})`);
};

test('tlsParams: combinations are checked at the call', () => {
  usage(() => tlsParams({ cert: 'c' }), /cert needs key/);
  usage(() => tlsParams({ key: 'k' }), /key needs cert/);
  usage(() => tlsParams({ cert: 'c', key: 'k', pfx: new Uint8Array(1) }), /either as pfx or as cert \+ key/);
  usage(() => tlsParams({ passphrase: 'p' }), /unlocks pfx or key/);
  usage(() => tlsParams({ minVersion: 'TLSv1.4' as 'TLSv1.3' }), /minVersion must be one of/);
  usage(() => tlsParams({ ciphers: 'A\nB' }), /cipher list/);
  usage(() => tlsParams({ localAddress: 'eth0' }), /IP address/);
  assert.equal(tlsParams({ pfx: Uint8Array.of(1), passphrase: 'x', minVersion: 'TLSv1.3', localAddress: '::1' }), {
    pfx: Uint8Array.of(1),
    passphrase: 'x',
    minVersion: 'TLSv1.3',
    localAddress: '::1',
  });
});

test('a transport refuses an option its runtime lacks, by name and reason, before connecting', async () => {
  let connected = false;
  const transport: Transport = {
    name: 'limited',
    connect: async (params: ConnectParams) => {
      refuseUnsupported('Limited', params, { minVersion: 'it has no version setting' });
      connected = true;
      throw new Error('not reached');
    },
  };
  try {
    await connect({ host: 'mx.test', minVersion: 'TLSv1.3', transport });
    assert.unreachable('connected');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'EUSAGE');
    assert.is((err as Error).message, 'Limited cannot use the `minVersion` option: it has no version setting');
  }
  assert.is(connected, false);
});

test('the client checks proxy URLs and what goes to the proxy before connecting', async () => {
  const transport: Transport = { name: 'never', connect: () => Promise.reject(new Error('must not connect')) };
  await Promise.all([
    connect({ host: 'mx.test', proxy: 'ftp://p', transport }).then(
      () => assert.unreachable(),
      (e) => assert.match(e.message, /proxy scheme/),
    ),
    connect({ host: 'mx.test', proxy: 'socks5://u:p%0d%0a@p', transport }).then(
      () => assert.unreachable(),
      (e) => assert.is(e.code, 'EUSAGE'),
    ),
    connect({ host: '::1', proxy: 'socks4a://p', port: 25, transport }).then(
      () => assert.unreachable(),
      (e) => assert.match(e.message, /IPv6/),
    ),
  ]);
});

const files = {
  text: (path: string) => `text of ${path}`,
  bytes: (path: string) => new TextEncoder().encode(path),
};

test('CLI flags: files read, versions mapped, secrets from the environment', () => {
  assert.equal(
    connectOptions(
      { cert: 'c.pem', key: 'k.pem', 'tls-min': '1.2', servername: 'mx', 'local-address': '10.0.0.1', ciphers: 'X' },
      files,
      {},
    ),
    { cert: 'text of c.pem', key: 'text of k.pem', minVersion: 'TLSv1.2', servername: 'mx', localAddress: '10.0.0.1', ciphers: 'X' },
  );
  const pfx = connectOptions({ pfx: 'a.p12' }, files, { SMTPWIRE_KEY_PASSPHRASE: 'pp' });
  assert.equal(pfx, { pfx: new TextEncoder().encode('a.p12'), passphrase: 'pp' });
  const proxied = connectOptions({ proxy: 'socks5://me@p:1080' }, files, { SMTPWIRE_PROXY_PASSWORD: 'pw' });
  assert.equal(proxied.proxy, { protocol: 'socks5', host: 'p', port: 1080, user: 'me', pass: 'pw' });
  // A password in the URL wins over the environment.
  assert.equal(connectOptions({ proxy: 'http://me:url@p:3128' }, files, { SMTPWIRE_PROXY_PASSWORD: 'env' }).proxy, {
    protocol: 'http',
    host: 'p',
    port: 3128,
    user: 'me',
    pass: 'url',
  });
});

test('CLI flags: bad combinations are usage errors', () => {
  usage(() => connectOptions({ cert: 'c' }, files, {}), /--cert needs --key/);
  usage(() => connectOptions({ key: 'k' }, files, {}), /--key needs --cert/);
  usage(() => connectOptions({ pfx: 'p', cert: 'c', key: 'k' }, files, {}), /not both/);
  usage(() => connectOptions({ 'passphrase-file': 'f' }, files, {}), /unlocks --pfx or --key/);
  usage(() => connectOptions({ 'tls-min': '1.4' }, files, {}), /--tls-min must be/);
  usage(() => connectOptions({ proxy: 'socks5://p' }, files, { SMTPWIRE_PROXY_PASSWORD: 'x' }), /no user name/);
});

test('exit status for proxy failures: auth 77, permanent refusal 69, transient 75', () => {
  assert.is(exitCodeFor(new SmtpProxyError('auth', 'x')), EXIT.NOPERM);
  assert.is(exitCodeFor(new SmtpProxyError('refused', 'ruleset', false)), EXIT.UNAVAILABLE);
  assert.is(exitCodeFor(new SmtpProxyError('refused', 'connection refused', true)), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpProxyError('timeout', 'slow')), EXIT.TEMPFAIL);
});

test.run();
