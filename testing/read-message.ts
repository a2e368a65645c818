// A small reader for the messages the testing server records: header fields, and the MIME
// parts of a multipart body, with base64 / quoted-printable bodies decoded. Scope, on purpose:
// enough to assert on what an application sent (RFC 5322 fields, RFC 2045/2046 structure). It
// does not decode RFC 2047 encoded words, and takes charsets other than UTF-8/ASCII as Latin-1.
// Bounded: nesting deeper than MAX_DEPTH is left as an unsplit part.

export interface HeaderField {
  /** As written (case kept). */
  readonly name: string;
  /** Unfolded (CRLF before WSP removed), leading space trimmed. */
  readonly value: string;
}

export interface MessagePart {
  readonly headers: readonly HeaderField[];
  /** First value of a field, case-insensitive; undefined when absent. */
  header(name: string): string | undefined;
  /** Lower-cased type/subtype, default text/plain. */
  readonly contentType: string;
  /** Content-Type parameters, names lower-cased (charset, boundary, name, ...). */
  readonly params: Readonly<Record<string, string>>;
  /** Content-Disposition filename (or Content-Type name), when given. */
  readonly filename: string | undefined;
  /** The body after the transfer encoding is undone. */
  readonly content: Uint8Array;
  /** `content` as text (text/* parts; others too, for convenience). */
  readonly text: string;
  /** Sub-parts of a multipart/* part; empty otherwise. */
  readonly parts: readonly MessagePart[];
}

export interface ReadMessage {
  readonly headers: readonly HeaderField[];
  header(name: string): string | undefined;
  /** The top-level part (the message itself). */
  readonly root: MessagePart;
  /** Every leaf part, depth first (a single-part message has one: itself). */
  readonly parts: readonly MessagePart[];
  /** The first text/plain and text/html leaf, decoded. */
  readonly text: string | undefined;
  readonly html: string | undefined;
  /** Leaf parts with a filename or `Content-Disposition: attachment`. */
  readonly attachments: readonly MessagePart[];
}

const MAX_DEPTH = 16;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

export function readMessage(raw: Uint8Array): ReadMessage {
  const root = readPart(raw, 0);
  const leaves: MessagePart[] = [];
  const walk = (p: MessagePart): void => {
    if (p.parts.length === 0) leaves.push(p);
    else p.parts.forEach(walk);
  };
  walk(root);
  const isAttachment = (p: MessagePart): boolean =>
    p.filename !== undefined || /^attachment\b/i.test(p.header('content-disposition') ?? '');
  const attachments = leaves.filter(isAttachment);
  const firstText = (type: string): string | undefined => leaves.find((p) => p.contentType === type && !isAttachment(p))?.text;
  return {
    headers: root.headers,
    header: (name) => root.header(name),
    root,
    parts: leaves,
    text: firstText('text/plain'),
    html: firstText('text/html'),
    attachments,
  };
}

function readPart(bytes: Uint8Array, depth: number): MessagePart {
  const split = headerEnd(bytes);
  const headers = parseHeaders(latin1.decode(bytes.subarray(0, split.head)));
  const body = bytes.subarray(split.body);
  const header = (name: string): string | undefined => {
    const lower = name.toLowerCase();
    return headers.find((h) => h.name.toLowerCase() === lower)?.value;
  };
  const ct = parseParams(header('content-type') ?? 'text/plain');
  const contentType = ct.value.toLowerCase() || 'text/plain';
  const disposition = parseParams(header('content-disposition') ?? '');
  const filename = disposition.params['filename'] ?? ct.params['name'];
  let parts: MessagePart[] = [];
  const boundary = ct.params['boundary'];
  if (contentType.startsWith('multipart/') && boundary !== undefined && depth < MAX_DEPTH) {
    parts = splitMultipart(body, boundary).map((p) => readPart(p, depth + 1));
  }
  const content = parts.length > 0 ? body : decodeTransfer(body, (header('content-transfer-encoding') ?? '').trim().toLowerCase());
  const charset = (ct.params['charset'] ?? 'utf-8').toLowerCase();
  const text = (charset === 'utf-8' || charset === 'us-ascii' || charset === 'utf8' ? utf8 : latin1).decode(content);
  return { headers, header, contentType, params: ct.params, filename, content, text, parts };
}

/** Where the header block ends (before the empty line) and the body starts. */
function headerEnd(bytes: Uint8Array): { head: number; body: number } {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return { head: i + 1, body: i + 2 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { head: i + 1, body: i + 3 };
  }
  // A body that starts with an empty line: no header fields at all.
  if (bytes[0] === 0x0d && bytes[1] === 0x0a) return { head: 0, body: 2 };
  return { head: bytes.length, body: bytes.length };
}

function parseHeaders(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if ((line[0] === ' ' || line[0] === '\t') && last) {
      fields[fields.length - 1] = { name: last.name, value: last.value + line };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a field: ignored (this is a reader for tests, not a validator)
    fields.push({ name: line.slice(0, colon).trimEnd(), value: line.slice(colon + 1).replace(/^[ \t]+/, '') });
  }
  // Header values may carry UTF-8 (RFC 6532): decode them as such when they are valid UTF-8.
  return fields.map((f) => ({ name: f.name, value: reUtf8(f.value) }));
}

function reUtf8(latin: string): string {
  if (!/[\x80-\xff]/.test(latin)) return latin;
  const bytes = Uint8Array.from(latin, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return latin;
  }
}

/** `type/sub; a=b; c="d e"` → value and lower-cased parameter names. */
function parseParams(field: string): { value: string; params: Record<string, string> } {
  const params = Object.create(null) as Record<string, string>;
  const semi = field.indexOf(';');
  const value = (semi < 0 ? field : field.slice(0, semi)).trim();
  const re = /;\s*([^=\s;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (const m of field.matchAll(re)) params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return { value, params };
}

function splitMultipart(body: Uint8Array, boundary: string): Uint8Array[] {
  const text = latin1.decode(body); // 1 char per octet: indexes map straight back to bytes
  const delimiter = '--' + boundary;
  const out: Uint8Array[] = [];
  let start = -1;
  let at = 0;
  for (;;) {
    const i = text.indexOf(delimiter, at);
    if (i < 0) break;
    const atLineStart = i === 0 || text[i - 1] === '\n';
    at = i + delimiter.length;
    if (!atLineStart) continue;
    if (start >= 0) {
      // The CRLF before the delimiter belongs to the delimiter (RFC 2046 §5.1.1).
      let end = i;
      if (text[end - 1] === '\n') end--;
      if (text[end - 1] === '\r') end--;
      out.push(body.subarray(start, end));
    }
    if (text.startsWith('--', at)) break; // close delimiter
    const lf = text.indexOf('\n', at);
    if (lf < 0) break;
    start = lf + 1;
  }
  return out;
}

function decodeTransfer(body: Uint8Array, encoding: string): Uint8Array {
  if (encoding === 'base64') {
    const clean = latin1.decode(body).replace(/[^A-Za-z0-9+/]/g, '');
    const whole = clean.length % 4 === 1 ? clean.slice(0, -1) : clean; // a stray last char carries no octet
    const bin = atob(whole + '='.repeat((4 - (whole.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  if (encoding === 'quoted-printable') {
    const s = latin1.decode(body).replace(/=\r?\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const hex = s[i] === '=' ? s.slice(i + 1, i + 3) : '';
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
      } else out.push(s.charCodeAt(i));
    }
    return Uint8Array.from(out);
  }
  return body;
}
