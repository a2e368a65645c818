// The MIME tree (RFC 2046 §5.1): leaves with their encoded bodies, multiparts with boundaries,
// rendered as a stream of chunks. Boundaries hold "=_", which neither base64 nor
// quoted-printable output can contain (in QP '=' is always followed by hex digits or CRLF), so a
// streamed (always base64) body cannot hold one; the in-memory bodies (7bit, 8bit, QP) are
// searched, and a boundary found there is drawn again. All boundaries of a message have the
// same length and differ, so none is a prefix of another.
import { SmtpUsageError } from '../core/errors.ts';

/** A part's body: encoded octets in memory, or a stream opened for each rendering. */
export type LeafBody =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'stream'; readonly open: () => AsyncIterable<Uint8Array>; readonly size: number | undefined };

export interface Leaf {
  readonly kind: 'leaf';
  /** The part's header lines, each ending in CRLF (Content-Type, Content-Transfer-Encoding, ...). */
  readonly headers: string;
  readonly body: LeafBody;
}

export interface Multipart {
  readonly kind: 'multipart';
  readonly subtype: 'mixed' | 'alternative' | 'related';
  readonly parts: readonly MimePart[];
  /** Extra Content-Type parameters, already formatted (e.g. `type="text/html"` for related). */
  readonly params?: readonly string[];
}

export type MimePart = Leaf | Multipart;

const encoder = new TextEncoder();
const MAX_DRAWS = 16;

/**
 * Boundaries for every multipart of the tree, in depth-first order. `random` gives random
 * octets (crypto.getRandomValues by default).
 */
export function assignBoundaries(root: MimePart, random: (n: number) => Uint8Array): Map<Multipart, string> {
  const multiparts: Multipart[] = [];
  const memory: Uint8Array[] = [];
  (function walk(p: MimePart): void {
    if (p.kind === 'multipart') {
      multiparts.push(p);
      p.parts.forEach(walk);
    } else if (p.body.kind === 'bytes') memory.push(p.body.bytes);
  })(root);
  const out = new Map<Multipart, string>();
  const used = new Set<string>();
  for (const m of multiparts) {
    for (let draw = 0; ; draw++) {
      if (draw === MAX_DRAWS)
        throw new SmtpUsageError('could not find a MIME boundary absent from the content (is the random source broken?)');
      const hex = Array.from(random(12), (b) => b.toString(16).padStart(2, '0')).join('');
      const boundary = `=_sw_${hex}`;
      if (used.has(boundary)) continue;
      const needle = encoder.encode(`--${boundary}`);
      if (memory.some((bytes) => contains(bytes, needle))) continue;
      used.add(boundary);
      out.set(m, boundary);
      break;
    }
  }
  return out;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The Content-Type header line(s) of a multipart. */
export function multipartHeaders(m: Multipart, boundary: string): string {
  let line = `Content-Type: multipart/${m.subtype};\r\n boundary="${boundary}"`;
  for (const p of m.params ?? []) line += `;\r\n ${p}`;
  return `${line}\r\n`;
}

/**
 * The octets of a part after its header block ends (the blank line is the caller's). Yields
 * chunks; a streamed leaf is pulled only as fast as the consumer reads.
 */
export async function* renderBody(part: MimePart, boundaries: Map<Multipart, string>): AsyncGenerator<Uint8Array> {
  if (part.kind === 'leaf') {
    if (part.body.kind === 'bytes') yield part.body.bytes;
    else yield* part.body.open();
    return;
  }
  const boundary = boundaries.get(part)!;
  // No preamble. Each delimiter's leading CRLF belongs to it (RFC 2046 §5.1.1), so a part's
  // content ends exactly where its body ends.
  let first = true;
  for (const child of part.parts) {
    yield encoder.encode(`${first ? '' : '\r\n'}--${boundary}\r\n${headersOf(child, boundaries)}\r\n`);
    first = false;
    yield* renderBody(child, boundaries);
  }
  yield encoder.encode(`\r\n--${boundary}--\r\n`);
}

/** The chunks renderBody() would yield, when every leaf is in memory; else undefined. */
export function inMemory(part: MimePart, boundaries: Map<Multipart, string>): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const walk = (p: MimePart): boolean => {
    if (p.kind === 'leaf') {
      if (p.body.kind !== 'bytes') return false;
      out.push(p.body.bytes);
      return true;
    }
    const boundary = boundaries.get(p)!;
    let first = true;
    for (const child of p.parts) {
      out.push(encoder.encode(`${first ? '' : '\r\n'}--${boundary}\r\n${headersOf(child, boundaries)}\r\n`));
      first = false;
      if (!walk(child)) return false;
    }
    out.push(encoder.encode(`\r\n--${boundary}--\r\n`));
    return true;
  };
  return walk(part) ? out : undefined;
}

/** A part's own header lines: a leaf's as given, a multipart's Content-Type. */
export function headersOf(part: MimePart, boundaries: Map<Multipart, string>): string {
  return part.kind === 'leaf' ? part.headers : multipartHeaders(part, boundaries.get(part)!);
}

/** Octets renderBody() will yield, or undefined when a streamed part's size is unknown. */
export function bodySize(part: MimePart, boundaries: Map<Multipart, string>): number | undefined {
  if (part.kind === 'leaf') return part.body.kind === 'bytes' ? part.body.bytes.length : part.body.size;
  const boundary = boundaries.get(part)!;
  let total = 0;
  let first = true;
  for (const child of part.parts) {
    const size = bodySize(child, boundaries);
    if (size === undefined) return undefined;
    total += encoder.encode(`${first ? '' : '\r\n'}--${boundary}\r\n${headersOf(child, boundaries)}\r\n`).length + size;
    first = false;
  }
  return total + `\r\n--${boundary}--\r\n`.length;
}
