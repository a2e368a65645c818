// The CLI's DKIM flags: --dkim-key FILE --dkim-selector S --dkim-domain D [--dkim-algo A].
// Parsing, key loading and signing live here; bin/smtpwire.ts lists dkimModule in MODULES.
//
// A signed message is read twice (once to hash, once to send). A composed message is bytes
// already. A raw message on stdin is read again from the start when stdin is a regular file
// (`< message.eml`); from a pipe it is spooled first: in memory up to SPOOL_MEMORY octets, past
// that into a private temporary file (mode 0600 in a fresh mkdtemp directory, removed when the
// send is done). Either way the signing pass runs before the connection is opened.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PullIntoSource } from '../client/client.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { createDkimSigner, type DkimAlgorithm, type DkimSignedStream, type DkimSigner, type DkimStream } from '../message/dkim.ts';
import { fileBody } from '../transports/node.ts';
import { readInput } from './args.ts';
import type { CliModule, OptionTable } from './options.ts';

const G = 'DKIM signing';

export const DKIM_OPTIONS: OptionTable = {
  'dkim-key': { type: 'string', arg: 'FILE', group: G, help: 'sign with DKIM using this private key (PEM; RSA >= 1024 bits or Ed25519)' },
  'dkim-selector': { type: 'string', arg: 'S', group: G, help: 'DKIM selector: the public key is at S._domainkey.DOMAIN' },
  'dkim-domain': { type: 'string', arg: 'D', group: G, help: 'DKIM signing domain (d=)' },
  'dkim-algo': { type: 'string', arg: 'A', group: G, help: "rsa-sha256 or ed25519-sha256 (default: the key's)" },
};

/**
 * The CLI module. A message is signed before it leaves: at send time, and for --queue before it
 * is written to the spool (the spool holds the signed octets), so the key is never needed (nor
 * stored) at flush time; hence no recipe() hook.
 */
export const dkimModule: CliModule = {
  name: 'dkim',
  options: DKIM_OPTIONS,
  apply(v, plan) {
    plan.dkim = parseDkimOptions(v, readInput);
  },
};

/** Octets of a piped message held in memory before spooling goes to a temporary file. */
export const SPOOL_MEMORY = 8 * 1024 * 1024;

export interface DkimPlan {
  key: string;
  selector: string;
  domain: string;
  algorithm: DkimAlgorithm | undefined;
}

/** The DKIM flags as a plan, or undefined when none is given. `readKey` reads the key file
 *  (the CLI's own reader, so an unreadable file exits with EX_NOINPUT). */
export function parseDkimOptions(values: Record<string, unknown>, readKey: (path: string, flag: string) => string): DkimPlan | undefined {
  const key = values['dkim-key'] as string | undefined;
  const selector = values['dkim-selector'] as string | undefined;
  const domain = values['dkim-domain'] as string | undefined;
  const algo = values['dkim-algo'] as string | undefined;
  if (key === undefined && selector === undefined && domain === undefined && algo === undefined) return undefined;
  const missing = [
    key === undefined && '--dkim-key FILE',
    selector === undefined && '--dkim-selector S',
    domain === undefined && '--dkim-domain D',
  ].filter(Boolean);
  if (missing.length > 0) throw new SmtpUsageError(`DKIM signing needs ${missing.join(' and ')} as well`);
  if (algo !== undefined && algo !== 'rsa-sha256' && algo !== 'ed25519-sha256')
    throw new SmtpUsageError('--dkim-algo must be rsa-sha256 or ed25519-sha256');
  return { key: readKey(key!, '--dkim-key'), selector: selector!, domain: domain!, algorithm: algo };
}

/** Imports the key and checks the options (before any connection). */
export function prepareDkim(plan: DkimPlan): Promise<DkimSigner> {
  return createDkimSigner({
    privateKey: plan.key,
    selector: plan.selector,
    domain: plan.domain,
    ...(plan.algorithm ? { algorithm: plan.algorithm } : {}),
  });
}

/**
 * Signs a body the CLI is about to send. Bytes (a composed or rendered message held whole) are
 * signed as they are; a stream is read twice, so `again` must give a fresh stream of the same
 * octets. Returns what to put in the client's Message: the body and, for a stream, its size.
 */
export async function signOutgoing(
  signer: DkimSigner,
  body: string | Uint8Array | DkimStream,
  again?: () => DkimStream,
): Promise<{ body: Uint8Array | DkimSignedStream; size: number }> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const signed = await signer.sign(body);
    return { body: signed, size: signed.length };
  }
  if (!again) throw new SmtpUsageError('DKIM: a streamed message must be readable twice (give a function that reopens it)');
  let first: DkimStream | undefined = body;
  const signed = await signer.sign(() => {
    const s = first ?? again();
    first = undefined;
    return s;
  });
  return { body: signed, size: signed.size };
}

export interface SignedStdin {
  body: DkimSignedStream;
  /** Removes the spool file, if one was made. */
  cleanup: () => void;
}

/**
 * Signs the raw message on stdin. `fileSize` is stdin's size when it is a regular file, which
 * `openFile` then reads from its start each time; otherwise stdin is spooled (see above).
 */
export async function signStdin(
  signer: DkimSigner,
  stdin: AsyncIterable<Uint8Array>,
  fileSize: number | undefined,
  openFile: (size: number) => PullIntoSource,
): Promise<SignedStdin> {
  if (fileSize !== undefined) return { body: await signer.sign(() => openFile(fileSize)), cleanup: () => {} };
  const spool = await spoolStdin(stdin);
  try {
    return { body: await signer.sign(spool.open), cleanup: spool.cleanup };
  } catch (err) {
    spool.cleanup();
    throw err;
  }
}

interface Spool {
  open: () => PullIntoSource | Uint8Array[];
  cleanup: () => void;
}

async function spoolStdin(stdin: AsyncIterable<Uint8Array>): Promise<Spool> {
  const memory: Uint8Array[] = [];
  let held = 0;
  let dir: string | undefined;
  let fd: number | undefined;
  const cleanup = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  try {
    for await (const chunk of stdin) {
      if (fd === undefined && held + chunk.length <= SPOOL_MEMORY) {
        memory.push(chunk);
        held += chunk.length;
        continue;
      }
      if (fd === undefined) {
        dir = mkdtempSync(join(tmpdir(), 'smtpwire-dkim-'));
        process.once('exit', cleanup); // whatever way the CLI ends
        fd = openSync(join(dir, 'message'), 'wx', 0o600);
        for (const m of memory) writeAll(fd, m);
        memory.length = 0;
      }
      writeAll(fd, chunk);
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  if (fd === undefined) return { open: () => memory, cleanup };
  closeSync(fd);
  fd = undefined;
  const path = join(dir!, 'message');
  return { open: () => fileBody(path), cleanup };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}
