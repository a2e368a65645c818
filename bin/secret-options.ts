// --pass-cmd CMD and --token-cmd CMD: the secret is the first line a command prints (msmtp's
// `passwordeval` habit: `--pass-cmd 'pass show mail/alice'`, `--token-cmd 'oauth2l fetch ...'`).
// The command runs through /bin/sh when the client asks for the secret (once per connection),
// and a token command runs again when the server refuses its token, with SMTPWIRE_REFRESH=1 in
// its environment so it can bypass a cache. The secret is never echoed: not in the -v
// transcript (the core redacts AUTH), and not in errors, which give the flag and the exit
// status only (not the command, which may hold a secret itself, nor its output).
import { SmtpAuthError, SmtpUsageError } from '../core/errors.ts';
import type { SecretContext, SecretProvider } from '../client/credentials.ts';
import { str, type CliModule, type OptionTable, type Values } from './options.ts';

export const SECRET_OPTIONS: OptionTable = {
  'pass-cmd': { type: 'string', arg: 'CMD', help: 'the password is the first line CMD prints (run by /bin/sh)' },
  'token-cmd': { type: 'string', arg: 'CMD', help: "an OAuth 2.0 token, CMD's first line (rerun with SMTPWIRE_REFRESH=1 if refused)" },
};

/**
 * The CLI module: the commands become the client's password/token providers. A spooled message
 * keeps the commands (never their output) and runs them again when it is flushed.
 */
export const secretModule: CliModule = {
  name: 'secrets',
  options: SECRET_OPTIONS,
  apply(v, plan) {
    const user = str(v, 'user');
    const commands = secretCommands({
      ...(user !== undefined ? { user } : {}),
      ...(str(v, 'pass-file') !== undefined ? { 'pass-file': str(v, 'pass-file')! } : {}),
      ...(str(v, 'pass-cmd') !== undefined ? { 'pass-cmd': str(v, 'pass-cmd')! } : {}),
      ...(str(v, 'token-cmd') !== undefined ? { 'token-cmd': str(v, 'token-cmd')! } : {}),
    });
    if (commands) plan.client.auth = { ...(plan.client.auth ?? { user: user! }), ...commands };
  },
  recipe(v) {
    const out: Values = {};
    for (const k of ['pass-cmd', 'token-cmd'] as const) if (str(v, k) !== undefined) out[k] = str(v, k);
    if (Object.keys(out).length === 0) return undefined;
    if (str(v, 'user') !== undefined) out.user = str(v, 'user'); // secretCommands() checks it again
    return out;
  },
};

/** How long a secret command may run (a password manager may ask for a passphrase). */
const COMMAND_TIMEOUT = 120_000;
/** The first line is all we want; a command printing megabytes is a mistake. */
const MAX_OUTPUT = 64 * 1024;

/**
 * The providers the flags ask for, checked against the rest of the command line: both need
 * --user, and --pass-cmd replaces the other password sources. Undefined when neither is given.
 */
export function secretCommands(values: {
  user?: string;
  'pass-file'?: string;
  'pass-cmd'?: string;
  'token-cmd'?: string;
}): { pass?: SecretProvider; token?: SecretProvider } | undefined {
  const passCmd = values['pass-cmd'];
  const tokenCmd = values['token-cmd'];
  if (passCmd === undefined && tokenCmd === undefined) return undefined;
  for (const [flag, cmd] of [
    ['--pass-cmd', passCmd],
    ['--token-cmd', tokenCmd],
  ] as const) {
    if (cmd === undefined) continue;
    if (values.user === undefined) throw new SmtpUsageError(`${flag} needs --user`);
    if (cmd.trim() === '') throw new SmtpUsageError(`${flag} needs a command`);
  }
  if (passCmd !== undefined && values['pass-file'] !== undefined)
    throw new SmtpUsageError('give the password either with --pass-file or with --pass-cmd, not both');
  return {
    ...(passCmd !== undefined ? { pass: (context: SecretContext) => runSecretCommand('--pass-cmd', passCmd, context) } : {}),
    ...(tokenCmd !== undefined ? { token: (context: SecretContext) => runSecretCommand('--token-cmd', tokenCmd, context) } : {}),
  };
}

/** Run `cmd` and resolve with the first line of its output (without CR/LF). */
export function runSecretCommand(flag: string, cmd: string, context: SecretContext): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new SmtpAuthError(`${flag}: the command ${why}`));
    // stdin is the message, so the command gets none (a password manager that prompts opens
    // the terminal itself); its stderr stays the user's.
    // node:child_process loaded only here (start-up: see bin/account.ts).
    const child = process.getBuiltinModule('node:child_process').spawn('/bin/sh', ['-c', cmd], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        SMTPWIRE_HOST: context.host,
        SMTPWIRE_USER: context.user,
        ...(context.refresh ? { SMTPWIRE_REFRESH: '1' } : {}),
      },
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooMuch = false;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      fail(`did not finish within ${COMMAND_TIMEOUT / 1000} s`);
    }, COMMAND_TIMEOUT);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        tooMuch = true;
        child.kill('SIGTERM');
        return;
      }
      chunks.push(chunk);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(`could not be started (${err.message})`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooMuch) return fail(`printed more than ${MAX_OUTPUT} octets`);
      if (code !== 0) return fail(signal ? `was killed by ${signal}` : `exited with status ${code}`);
      const line = Buffer.concat(chunks).toString('utf8').split('\n', 1)[0]!.replace(/\r$/, '');
      if (line === '') return fail('printed an empty first line');
      resolve(line);
    });
  });
}
