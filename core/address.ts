// Wire-safe envelope pieces: paths (RFC 5321 §4.1.2, RFC 6531), xtext (RFC 3461 §4), the
// EHLO name and ESMTP parameters. Everything the caller gives is checked here, once, so no
// CR, LF or other control character can reach a command line.
import { SmtpUsageError } from './errors.ts';
import { printable, utf8 } from './text.ts';

// C0 (TAB included), DEL, C1, the Unicode line/paragraph separators, and lone surrogates
// (which UTF-8 encoding would silently replace).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;

/** Throws SmtpUsageError naming `field` when `value` holds a control character (CR, LF, NUL, ...). */
export function assertNoControls(field: string, value: string): void {
  if (typeof value !== 'string') throw new SmtpUsageError(`${field} must be a string`);
  if (CONTROL.test(value)) throw new SmtpUsageError(`${field} contains a control character: "${printable(value)}"`);
}

/** True when the address has non-ASCII characters, so MAIL needs SMTPUTF8 (RFC 6531). */
export function needsSmtpUtf8(address: string): boolean {
  return /[^\u0000-\u007f]/.test(address);
}

// RFC 5322 atext, widened by RFC 6531 to any non-ASCII character.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;
// The inside of a quoted-string the caller already wrote: qtext or quoted-pair.
const QUOTED = /^"((?:[^"\\]|\\[\s\S])*)"$/;

/**
 * `<local@domain>` for MAIL FROM / RCPT TO; '' gives the null path `<>`. The address is split
 * at its last '@'. A local part that is not a dot-atom is written as a quoted-string.
 */
export function formatPath(address: string): string {
  if (typeof address !== 'string') throw new SmtpUsageError('an address must be a string');
  if (address === '') return '<>';
  assertNoControls('address', address);
  if (/[<>]/.test(address)) throw new SmtpUsageError(`address must not contain '<' or '>': "${printable(address)}"`);
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) {
    throw new SmtpUsageError(`address needs a local part and a domain (local@domain): "${printable(address)}"`);
  }
  const local = formatLocalPart(address.slice(0, at), address);
  const domain = address.slice(at + 1);
  if (!isDomain(domain, true) && !isAddressLiteral(domain)) {
    throw new SmtpUsageError(`address has an invalid domain: "${printable(address)}"`);
  }
  return `<${local}@${domain}>`;
}

function formatLocalPart(local: string, address: string): string {
  if (DOT_ATOM.test(local)) return local;
  const quoted = QUOTED.exec(local);
  // A quoted-string the caller wrote is unquoted, then written again in canonical form.
  const raw = quoted ? quoted[1]!.replace(/\\([\s\S])/g, '$1') : local;
  if (raw === '') throw new SmtpUsageError(`address has an empty local part: "${printable(address)}"`);
  if (DOT_ATOM.test(raw)) return raw;
  return `"${raw.replace(/["\\]/g, '\\$&')}"`;
}

// Labels of letters, digits, hyphens (not at either end) and, because real hosts have them,
// underscores. Non-ASCII (U-labels) only where SMTPUTF8 can carry it.
// Length limits (RFC 1035: 63 per label, 255 in all) are checked on ASCII only: a U-label's
// limit applies to its A-label form, which only IDNA conversion can tell.
function isDomain(domain: string, allowUtf8: boolean): boolean {
  if (domain.length === 0 || domain.length > 255) return false;
  const label = allowUtf8
    ? /^[A-Za-z0-9_\u0080-\uffff](?:[A-Za-z0-9_\-\u0080-\uffff]*[A-Za-z0-9_\u0080-\uffff])?$/
    : /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
  for (const l of domain.split('.')) {
    if (!label.test(l) || /\s/u.test(l) || (l.length > 63 && !needsSmtpUtf8(l))) return false;
  }
  return true;
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  let groups = 0;
  let hex = s;
  // An embedded IPv4 address (after the last ':') stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    groups = 2;
    // Keep a "::" just before it; drop a single separating ':'.
    hex = s.endsWith('::', lastColon + 1) ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
  }
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  const count = (h: string): number => {
    if (h === '') return 0;
    const g = h.split(':');
    return g.every((x) => /^[0-9A-Fa-f]{1,4}$/.test(x)) ? g.length : -1;
  };
  const a = count(halves[0]!);
  if (a < 0) return false;
  if (halves.length === 1) return a + groups === 8;
  const b = count(halves[1]!);
  return b >= 0 && a + b + groups <= 7; // "::" stands for at least one group
}

/** `[1.2.3.4]`, `[IPv6:...]`, or a general literal `[tag:content]` (RFC 5321 §4.1.3). */
function isAddressLiteral(s: string): boolean {
  if (s.length < 3 || s[0] !== '[' || s[s.length - 1] !== ']') return false;
  const inner = s.slice(1, -1);
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5));
  if (isIPv4(inner)) return true;
  const general = /^([A-Za-z0-9-]*[A-Za-z0-9]):([\x21-\x5a\x5e-\x7e]+)$/.exec(inner);
  return general !== null;
}

/**
 * xtext (RFC 3461 §4) for ENVID and ORCPT: octets outside 33..126, '+' and '=' become +HH.
 * Non-ASCII characters are encoded octet by octet from their UTF-8 form.
 */
export function encodeXtext(value: string): string {
  if (typeof value !== 'string') throw new SmtpUsageError('xtext value must be a string');
  let out = '';
  for (const b of utf8(value)) {
    out += b >= 33 && b <= 126 && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Checks the EHLO/LHLO name: a domain (ASCII) or an address literal. A bare IP address is
 * returned as the literal it has to be on the wire (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
 */
export function validateEhloName(name: string): string {
  if (typeof name !== 'string') throw new SmtpUsageError('EHLO name must be a string');
  assertNoControls('EHLO name', name);
  if (isIPv4(name)) return `[${name}]`;
  if (name.includes(':') && isIPv6(name)) return `[IPv6:${name}]`;
  if (isDomain(name, false) || isAddressLiteral(name)) return name;
  throw new SmtpUsageError(`EHLO name must be a domain or an address literal: "${printable(name)}"`);
}
