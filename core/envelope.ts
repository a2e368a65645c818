// The envelope (RFC 5321 §3.3) and its ESMTP parameters: SIZE (RFC 1870), BODY (RFC 6152,
// RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461), REQUIRETLS (RFC 8689).
// Validation happens once, at submit, so bad input throws at the caller; the parameters that
// depend on what the server advertised are decided when MAIL is written.
import type { Capabilities } from './capabilities.ts';
import { SmtpCapabilityError, SmtpUsageError } from './errors.ts';
import { encodeXtext, formatPath, needsSmtpUtf8 } from './address.ts';
import { printable } from './text.ts';

/** `local@domain` with a U-label domain in A-labels (UTS #46), undefined when the address is
 *  ASCII or its local part is not; throws SmtpAddressError for an invalid domain. `idn` from
 *  smtpwire/idn (core/idn.ts asciiAddress): passed in, so only what uses it bundles UTS #46. */
export type IdnCodec = (address: string) => string | undefined;

export type NotifyOn = 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface RecipientSpec {
  address: string;
  /** DSN NOTIFY: 'NEVER' or any of SUCCESS/FAILURE/DELAY. Sent only when DSN is advertised. */
  notify?: 'NEVER' | readonly NotifyOn[];
  /** DSN ORCPT original recipient (an rfc822 address). */
  orcpt?: string;
}

export interface Envelope {
  /** Reverse-path; '' for the null sender `<>` (bounces). */
  from: string;
  to: readonly (string | RecipientSpec)[];
  /** Declared message size in octets: checked against SIZE and sent as SIZE= when advertised. */
  size?: number;
  /** Body type: 8BITMIME needs the server's 8BITMIME, BINARYMIME needs BINARYMIME + CHUNKING. */
  body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  /** Ask for SMTPUTF8; implied when an address is not ASCII. */
  smtpUtf8?: boolean;
  /** DSN RET and ENVID. Sent only when DSN is advertised. */
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string };
  /** RFC 8689: the message must only travel over TLS. Fails unless the server offers it on TLS. */
  requireTls?: boolean;
}

export interface PreparedRecipient {
  readonly address: string;
  readonly path: string;
  /** The path with its domain in A-labels, for a server without SMTPUTF8; undefined when
   *  `path` is ASCII already or its local part is not (then only SMTPUTF8 can carry it). */
  readonly asciiPath: string | undefined;
  readonly notify: string | undefined;
  readonly orcpt: string | undefined;
}

export interface PreparedEnvelope {
  readonly from: string;
  readonly path: string;
  readonly asciiPath: string | undefined;
  readonly recipients: readonly PreparedRecipient[];
  readonly size: number | undefined;
  readonly body: '7BIT' | '8BITMIME' | 'BINARYMIME' | undefined;
  /** SMTPUTF8 is required: asked for, or a local part is not ASCII. */
  readonly smtpUtf8: boolean;
  /** Some domain is in U-labels: SMTPUTF8 when the server has it, else A-labels (RFC 5890). */
  readonly idn: boolean;
  readonly ret: 'FULL' | 'HDRS' | undefined;
  readonly envid: string | undefined;
  readonly requireTls: boolean;
}

const NOTIFY_ON = new Set<string>(['SUCCESS', 'FAILURE', 'DELAY']);

// Bulk senders repeat the same few addresses; validating each once saves a measurable share of
// the per-message CPU. The cache belongs to a connection (the core keeps no module-level state)
// and is bounded so hostile variety cannot grow it.
interface CheckedAddress {
  readonly path: string;
  readonly asciiPath: string | undefined;
  /** Only SMTPUTF8 can carry it (a non-ASCII local part). */
  readonly utf8: boolean;
  /** Its domain is in U-labels and its local part ASCII: A-labels will do without SMTPUTF8. */
  readonly idn: boolean;
  /** As idn, with no codec to make the A-labels: only SMTPUTF8 can carry it. */
  readonly noCodec: boolean;
  /** The address as a recipient with no DSN options (shared: prepared recipients are read-only). */
  readonly recipient: PreparedRecipient;
  /** [recipient], frozen: the recipient list of a message to this address alone. */
  readonly alone: readonly PreparedRecipient[];
}
export interface PathCache {
  readonly addresses: Map<string, CheckedAddress>;
  /** The last single-recipient envelope prepared: an equal one is this same (read-only)
   *  object, so a queued message of a bulk run holds no envelope of its own. */
  last: PreparedEnvelope | undefined;
}
const PATH_CACHE_SIZE = 512;

export function createPathCache(): PathCache {
  return { addresses: new Map(), last: undefined };
}

/** True when the address's local part is ASCII (its domain then is not, for a needsSmtpUtf8 path). */
function asciiLocal(address: string): boolean {
  return /^[\x00-\x7f]*$/.test(address.slice(0, address.lastIndexOf('@')));
}

function checkedAddress(address: string, pathCache: PathCache | undefined, codec: IdnCodec | undefined): CheckedAddress {
  let checked = pathCache?.addresses.get(address);
  if (checked === undefined) {
    const path = formatPath(address); // throws for bad input: nothing is cached then
    const wide = needsSmtpUtf8(path);
    // A U-label domain is checked (UTS #46) and converted once, here: an invalid one throws.
    const ascii = wide && codec !== undefined ? codec(path.slice(1, -1)) : undefined;
    const asciiPath = ascii === undefined ? undefined : `<${ascii}>`;
    const noCodec = wide && codec === undefined && asciiLocal(path.slice(1, -1));
    const recipient: PreparedRecipient = Object.freeze({ address, path, asciiPath, notify: undefined, orcpt: undefined });
    checked = {
      path,
      asciiPath,
      utf8: wide && asciiPath === undefined && !noCodec,
      idn: asciiPath !== undefined || noCodec,
      noCodec,
      recipient,
      alone: Object.freeze([recipient]),
    };
    if (pathCache) {
      if (pathCache.addresses.size >= PATH_CACHE_SIZE) pathCache.addresses.clear();
      pathCache.addresses.set(address, checked);
    }
  }
  return checked;
}

/** An address with a U-label domain, no IDN codec and no SMTPUTF8 asked for: say what to import. */
function needsCodec(address: string): SmtpUsageError {
  return new SmtpUsageError(
    `the domain of "${printable(address)}" is not ASCII and this connection has no IDN codec to write it in A-labels: ` +
      `import { idn } from 'smtpwire/idn' and pass connect({ ..., idn }), or send with smtpUtf8: true (the server must offer SMTPUTF8)`,
  );
}

/** Checks the envelope once. `detectedBody` is the body type found by scanning a whole body,
 *  used when the envelope does not say; `paths` remembers addresses already checked; `codec`
 *  writes U-label domains in A-labels (without it they need SMTPUTF8). */

export function prepareEnvelope(envelope: Envelope, detectedBody?: '8BITMIME', paths?: PathCache, codec?: IdnCodec): PreparedEnvelope {
  if (envelope === null || typeof envelope !== 'object') throw new SmtpUsageError('envelope must be an object');
  if (typeof envelope.from !== 'string') throw new SmtpUsageError('envelope.from must be a string');
  const to = envelope.to;
  if (!Array.isArray(to as unknown) || to.length === 0) throw new SmtpUsageError('envelope.to needs at least one recipient');
  const sender = checkedAddress(envelope.from, paths, codec);
  const askedUtf8 = envelope.smtpUtf8 === true;
  if (sender.noCodec && !askedUtf8) throw needsCodec(envelope.from);
  let smtpUtf8 = askedUtf8 || sender.utf8;
  let idn = sender.idn;
  // Most messages have one recipient, a bare address: its one-entry list is cached with it, so
  // a queued message holds no list of its own.
  const single = to.length === 1 && typeof to[0] === 'string' && to[0] !== '' ? checkedAddress(to[0], paths, codec) : undefined;
  if (single !== undefined) {
    if (single.noCodec && !askedUtf8) throw needsCodec(to[0] as string);
    if (single.utf8) smtpUtf8 = true;
    if (single.idn) idn = true;
  }
  const list = single !== undefined ? undefined : new Array<PreparedRecipient>(to.length); // exact size otherwise
  for (let i = 0; list !== undefined && i < to.length; i++) {
    const r = to[i];
    if (typeof r === 'string') {
      // A bare address: its prepared form is cached with it.
      if (r === '') throw new SmtpUsageError('every recipient needs a non-empty address');
      const checked = checkedAddress(r, paths, codec);
      if (checked.noCodec && !askedUtf8) throw needsCodec(r);
      if (checked.utf8) smtpUtf8 = true;
      if (checked.idn) idn = true;
      list[i] = checked.recipient;
      continue;
    }
    const spec = r as RecipientSpec;
    if (!spec || typeof spec.address !== 'string' || spec.address === '')
      throw new SmtpUsageError('every recipient needs a non-empty address');
    const checked = checkedAddress(spec.address, paths, codec);
    if (checked.noCodec && !askedUtf8) throw needsCodec(spec.address);
    if (checked.utf8) smtpUtf8 = true;
    if (checked.idn) idn = true;
    let notify: string | undefined;
    if (spec.notify !== undefined) {
      if (spec.notify === 'NEVER') notify = 'NEVER';
      else if (Array.isArray(spec.notify as unknown) && spec.notify.length > 0 && spec.notify.every((n) => NOTIFY_ON.has(n)))
        notify = [...new Set(spec.notify)].join(',');
      else throw new SmtpUsageError(`invalid DSN notify for ${spec.address}: use 'NEVER' or a list of SUCCESS, FAILURE, DELAY`);
    }
    const orcpt = spec.orcpt === undefined ? undefined : `rfc822;${encodeXtext(spec.orcpt)}`;
    list[i] = { address: spec.address, path: checked.path, asciiPath: checked.asciiPath, notify, orcpt };
  }
  const recipients = list ?? single!.alone;
  if (envelope.size !== undefined && !(Number.isSafeInteger(envelope.size) && envelope.size >= 0)) {
    throw new SmtpUsageError('envelope.size must be a non-negative integer');
  }
  const body = envelope.body;
  if (body !== undefined && body !== '7BIT' && body !== '8BITMIME' && body !== 'BINARYMIME') {
    throw new SmtpUsageError(`envelope.body must be 7BIT, 8BITMIME or BINARYMIME`);
  }
  const ret = envelope.dsn?.ret;
  if (ret !== undefined && ret !== 'FULL' && ret !== 'HDRS') throw new SmtpUsageError('dsn.ret must be FULL or HDRS');
  const envid = envelope.dsn?.envid === undefined ? undefined : encodeXtext(envelope.dsn.envid);
  if (envid !== undefined && envid.length > 100) throw new SmtpUsageError('dsn.envid is longer than 100 characters once encoded');
  const last = paths?.last;
  const requireTls = envelope.requireTls === true;
  const bodyType = body ?? detectedBody;
  if (
    last !== undefined &&
    last.recipients === recipients &&
    last.from === envelope.from &&
    last.path === sender.path &&
    last.size === envelope.size &&
    last.body === bodyType &&
    last.smtpUtf8 === smtpUtf8 &&
    last.idn === idn &&
    last.ret === ret &&
    last.envid === envid &&
    last.requireTls === requireTls
  ) {
    return last;
  }
  const prepared: PreparedEnvelope = {
    from: envelope.from,
    path: sender.path,
    asciiPath: sender.asciiPath,
    recipients,
    size: envelope.size,
    body: bodyType,
    smtpUtf8,
    idn,
    ret,
    envid,
    requireTls,
  };
  if (paths && single !== undefined) paths.last = prepared;
  return prepared;
}

/** The MAIL command for this server, or a typed error when the message needs what it lacks. */
export function mailCommand(env: PreparedEnvelope, caps: Capabilities, secure: boolean): string {
  // U-label domains go as they are with SMTPUTF8, in A-labels without it.
  const utf8 = env.smtpUtf8 || (env.idn && caps.smtpUtf8);
  let cmd = `MAIL FROM:${utf8 ? env.path : (env.asciiPath ?? env.path)}`;
  if (env.size !== undefined && caps.size !== undefined) {
    if (caps.size > 0 && env.size > caps.size) {
      throw new SmtpCapabilityError(`message of ${env.size} octets exceeds the server's SIZE limit of ${caps.size}`);
    }
    cmd += ` SIZE=${env.size}`;
  }
  if (env.body === '8BITMIME') {
    if (!caps.eightBitMime) throw new SmtpCapabilityError('message needs 8BITMIME, which the server does not offer');
    cmd += ' BODY=8BITMIME';
  } else if (env.body === 'BINARYMIME') {
    if (!caps.binaryMime || !caps.chunking)
      throw new SmtpCapabilityError('message needs BINARYMIME and CHUNKING, which the server does not offer');
    cmd += ' BODY=BINARYMIME';
  }
  if (utf8) {
    if (!caps.smtpUtf8)
      throw new SmtpCapabilityError('message needs SMTPUTF8 (non-ASCII local part, or asked for), which the server does not offer');
    cmd += ' SMTPUTF8';
  }
  if (caps.dsn) {
    if (env.ret) cmd += ` RET=${env.ret}`;
    if (env.envid !== undefined) cmd += ` ENVID=${env.envid}`;
  }
  if (env.requireTls) {
    if (!secure || !caps.requireTls)
      throw new SmtpCapabilityError('message requires TLS all the way (REQUIRETLS), which this server does not offer over TLS');
    cmd += ' REQUIRETLS';
  }
  return cmd;
}

export function rcptCommand(r: PreparedRecipient, caps: Capabilities): string {
  // Same choice as mailCommand: when SMTPUTF8 is required and missing, MAIL has failed already.
  let cmd = `RCPT TO:${caps.smtpUtf8 ? r.path : (r.asciiPath ?? r.path)}`;
  if (caps.dsn) {
    if (r.notify) cmd += ` NOTIFY=${r.notify}`;
    if (r.orcpt) cmd += ` ORCPT=${r.orcpt}`;
  }
  return cmd;
}
