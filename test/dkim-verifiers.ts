// The two independent DKIM verifiers the Node tests and the interop suite use: dkimpy (Debian's
// python3-dkim, through test/dkim_verify.py) and mailauth (npm). Neither shares code with ours;
// DNS answers come from the test (the records it derived from its keys with node:crypto).
import { spawnSync } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

const SCRIPT = fileURLToPath(new URL('../../test/dkim_verify.py', import.meta.url)); // from dist/test/
export const PYTHON = '/usr/bin/python3'; // Debian's Python, where python3-dkim lives

export interface Verdict {
  /** One entry per DKIM-Signature field, top first: true when it verifies. */
  results: boolean[];
  errors: string[];
}

/** Why dkimpy cannot run here, or undefined when it can. */
export function dkimpyMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import dkim, nacl.signing'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return `dkimpy is not installed (${(r.stderr || String(r.error)).trim().split('\n').pop()}): apt-get install python3-dkim python3-nacl (.ci/run and test/interop/run.sh do)`;
}

/** dkimpy's verdict on each message, in one Python process. Throws when it cannot run. */
export function verifyWithDkimpy(messages: Uint8Array[], records: Record<string, string>): Verdict[] {
  const input = JSON.stringify({ records, messages: messages.map((m) => Buffer.from(m).toString('base64')) });
  const r = spawnSync(PYTHON, [SCRIPT], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`dkim_verify.py failed (exit ${r.status}): ${r.stderr || r.error}`);
  return JSON.parse(r.stdout) as Verdict[];
}

/** mailauth's verdict on one message. */
export async function verifyWithMailauth(message: Uint8Array, records: Record<string, string>): Promise<Verdict> {
  const resolver = async (name: string, type: string): Promise<string[][]> => {
    const txt = type === 'TXT' ? records[name.toLowerCase().replace(/\.$/, '')] : undefined;
    if (txt === undefined) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    return [[txt]];
  };
  const r = await dkimVerify(Buffer.from(message), { resolver });
  const results = r.results.map((x) => x.status.result === 'pass');
  const errors = r.results.flatMap((x, i) =>
    x.status.result === 'pass' ? [] : [`signature ${i}: ${x.status.result} ${x.status.comment ?? ''}`],
  );
  return { results, errors };
}

/** The DNS TXT record for a public key, derived with node:crypto (not with our code). */
export function txtRecord(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const spki = key.export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}
