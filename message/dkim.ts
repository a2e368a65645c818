// DKIM signing (RFC 6376) with rsa-sha256 (RFC 8301) and ed25519-sha256 (RFC 8463), for any
// raw message: one built here or one the caller already has.
//
//   const signed = await signDkim(rawMessage, { domain, selector, privateKey: pem });
//   await client.send({ from, to, body: signed });
//
// The message is read twice: once for the hashes, once to send it with the DKIM-Signature
// field(s) in front. The body hash is computed as the body streams past (an incremental SHA-256
// over the canonical body, core/sasl/hash.ts), so memory stays bounded whatever the size; the
// header section is held (at most MAX_HEADER_SECTION octets). Signing uses WebCrypto.
//
// Choices: relaxed/relaxed unless told otherwise; never l= (a body length limit lets anyone
// append content); From is listed once more than it occurs ("oversigned"), so a second From
// added on the way breaks the signature; t= is the signing time.
import { encodeBase64 } from '../core/sasl/base64.ts';
import { Sha256, sha256 } from '../core/sasl/hash.ts';
import {
  binaryBytes,
  canonicalizeHeader,
  DkimBodyCanonicalizer,
  HeaderSectionReader,
  headerName,
  lowerAscii,
  type CanonicalizationAlgorithm,
} from './dkim-canon.ts';
import { DkimError } from './dkim-errors.ts';
import { importDkimKey, type DkimAlgorithm, type DkimKeyInput, type DkimPrivateKey } from './dkim-key.ts';
import { DkimSignedStream, readSource, type DkimSource, type DkimStream } from './dkim-source.ts';

export { DkimError, type DkimErrorReason } from './dkim-errors.ts';
export { dkimDnsRecord, importDkimKey, MIN_RSA_BITS, type DkimAlgorithm, type DkimKeyInput, type DkimPrivateKey } from './dkim-key.ts';
export { DkimSignedStream, type DkimSource, type DkimStream } from './dkim-source.ts';

export type DkimCanonicalization = 'relaxed/relaxed' | 'relaxed/simple' | 'simple/relaxed' | 'simple/simple';

/**
 * Header fields signed by default, when the message has them (RFC 6376 §5.4.1's list, the MIME
 * fields, and RFC 8058's List-Unsubscribe-Post, which one-click unsubscribe requires signed).
 * Trace fields (Received, Return-Path) are left out: they change on the way.
 */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Content-Language',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'Importance',
  'Priority',
  'X-Priority',
  'Feedback-ID',
];

export interface DkimSignatureOptions {
  /** The signing domain, d= (ASCII; an IDN in its A-label form, xn--...). */
  domain: string;
  /** The selector, s=: the key is published at `selector._domainkey.domain`. */
  selector: string;
  /** The private key: PEM ("PRIVATE KEY" PKCS#8 or "RSA PRIVATE KEY"), DER, a base64 Ed25519
   *  seed, or a WebCrypto CryptoKey. Its type chooses the algorithm. */
  privateKey: DkimKeyInput;
  /** Checked against the key when given. Default: the key's (rsa-sha256 or ed25519-sha256). */
  algorithm?: DkimAlgorithm;
  /** c=, header/body. Default 'relaxed/relaxed'. */
  canonicalization?: DkimCanonicalization;
  /** Names of the header fields to sign when present (replaces DEFAULT_SIGNED_HEADERS). From
   *  is always signed. Each occurrence in the message is signed. */
  headers?: readonly string[];
  /** Names listed once more than they occur, so that adding one breaks the signature.
   *  Default ['From']. A name here is signed even if `headers` omits it. */
  oversign?: readonly string[];
  /** i=, the agent or user identifier: "@domain" or "user@domain", within `domain`. */
  identity?: string;
  /** t=, the signing time: a Date or seconds since the epoch. Default now; false: no t=. */
  timestamp?: Date | number | false;
  /** x=, seconds after t= when the signature expires. Default: none. */
  expiresIn?: number;
}

export type DkimOptions = DkimSignatureOptions | readonly DkimSignatureOptions[];

interface PreparedSignature {
  readonly domain: string;
  readonly selector: string;
  readonly key: DkimPrivateKey;
  readonly header: CanonicalizationAlgorithm;
  readonly body: CanonicalizationAlgorithm;
  readonly signed: readonly string[]; // header names, as given, deduplicated
  readonly oversign: ReadonlySet<string>; // lower-case
  readonly identity: string | undefined;
  readonly timestamp: Date | number | false | undefined;
  readonly expiresIn: number | undefined;
}

/** The hashes of one reading of the message. */
interface MessageDigest {
  fields: string[];
  bodyHash: Partial<Record<CanonicalizationAlgorithm, string>>;
  size: number;
}

/**
 * Signs messages with one or more DKIM signatures. Create it once (keys are imported then) and
 * sign as many messages as you like; it holds no per-message state.
 */
export class DkimSigner {
  readonly #signatures: readonly PreparedSignature[];

  private constructor(signatures: readonly PreparedSignature[]) {
    this.#signatures = signatures;
  }

  /** Checks the options and imports the keys. Every problem is a DkimError. */
  static async create(options: DkimOptions): Promise<DkimSigner> {
    const list = Array.isArray(options as unknown) ? (options as readonly DkimSignatureOptions[]) : [options as DkimSignatureOptions];
    if (list.length === 0) throw new DkimError('options', 'no signature options given');
    const prepared: PreparedSignature[] = [];
    for (const o of list) prepared.push(await prepare(o));
    return new DkimSigner(prepared);
  }

  /**
   * The DKIM-Signature header field(s) for `message`, CRLF-terminated, to put in front of it
   * (one per signature, in the order of the options).
   */
  async signatureFields(message: DkimSource): Promise<string> {
    const digest = await this.#digest(message);
    return this.#sign(digest);
  }

  /**
   * The message with its DKIM-Signature field(s) in front. A string or Uint8Array message gives
   * the signed message as bytes; a function (a re-readable stream) gives a DkimSignedStream,
   * which reads the message again as it is sent.
   */
  sign(message: string | Uint8Array): Promise<Uint8Array>;
  sign(message: () => DkimStream | Promise<DkimStream>): Promise<DkimSignedStream>;
  sign(message: DkimSource): Promise<Uint8Array | DkimSignedStream>;
  async sign(message: DkimSource): Promise<Uint8Array | DkimSignedStream> {
    const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message;
    const digest = await this.#digest(bytes);
    const header = await this.#sign(digest);
    if (bytes instanceof Uint8Array) {
      const head = binaryBytes(header);
      const out = new Uint8Array(head.length + bytes.length);
      out.set(head, 0);
      out.set(bytes, head.length);
      return out;
    }
    return new DkimSignedStream(header, bytes, digest.size);
  }

  async #digest(message: DkimSource): Promise<MessageDigest> {
    const reader = new HeaderSectionReader();
    const hashes = new Map<CanonicalizationAlgorithm, Sha256>();
    const canons: DkimBodyCanonicalizer[] = [];
    for (const s of this.#signatures) {
      if (hashes.has(s.body)) continue;
      const hash = new Sha256();
      hashes.set(s.body, hash);
      canons.push(new DkimBodyCanonicalizer(s.body, (b) => hash.update(b)));
    }
    let checked = false;
    const size = await readSource(message, (chunk) => {
      const body = reader.write(chunk);
      if (body === undefined) return;
      if (!checked) checked = checkFrom(reader.fields); // before reading a large body for nothing
      if (body.length > 0) for (const c of canons) c.write(body);
    });
    reader.end();
    if (!checked) checkFrom(reader.fields);
    for (const c of canons) c.end();
    const bodyHash: MessageDigest['bodyHash'] = {};
    for (const [algorithm, hash] of hashes) bodyHash[algorithm] = encodeBase64(hash.digest());
    return { fields: reader.fields, bodyHash, size };
  }

  async #sign(digest: MessageDigest): Promise<string> {
    let out = '';
    for (const s of this.#signatures) out += await signOne(s, digest);
    return out;
  }
}

/** Prepares a signer for `options` (see DkimSigner.create). */
export function createDkimSigner(options: DkimOptions): Promise<DkimSigner> {
  return DkimSigner.create(options);
}

/** The DKIM-Signature field(s) to put in front of `message` (see DkimSigner.signatureFields). */
export async function dkimSignature(message: DkimSource, options: DkimOptions | DkimSigner): Promise<string> {
  const signer = options instanceof DkimSigner ? options : await DkimSigner.create(options);
  return signer.signatureFields(message);
}

/** `message` signed: bytes for a string/Uint8Array, a DkimSignedStream for a function. */
export function signDkim(message: string | Uint8Array, options: DkimOptions | DkimSigner): Promise<Uint8Array>;
export function signDkim(message: () => DkimStream | Promise<DkimStream>, options: DkimOptions | DkimSigner): Promise<DkimSignedStream>;
export function signDkim(message: DkimSource, options: DkimOptions | DkimSigner): Promise<Uint8Array | DkimSignedStream>;
export async function signDkim(message: DkimSource, options: DkimOptions | DkimSigner): Promise<Uint8Array | DkimSignedStream> {
  const signer = options instanceof DkimSigner ? options : await DkimSigner.create(options);
  return signer.sign(message);
}

// ---------------------------------------------------------------- one signature

async function prepare(o: DkimSignatureOptions): Promise<PreparedSignature> {
  if (o === null || typeof o !== 'object') throw new DkimError('options', 'signature options must be an object');
  const domain = checkDomain(o.domain, 'domain');
  const selector = checkDomain(o.selector, 'selector');
  const [header, body] = parseCanonicalization(o.canonicalization ?? 'relaxed/relaxed');
  const names = o.headers ?? DEFAULT_SIGNED_HEADERS;
  const oversignNames = o.oversign ?? ['From'];
  if (!Array.isArray(names as unknown) || !Array.isArray(oversignNames as unknown))
    throw new DkimError('options', 'headers and oversign must be arrays of header names');
  const signed: string[] = [];
  const seen = new Set<string>();
  // From first (RFC 6376 §5.4: it MUST be signed), then the list, then oversigned extras.
  for (const name of ['From', ...names, ...oversignNames]) {
    checkHeaderName(name);
    const lower = lowerAscii(name);
    if (seen.has(lower)) continue;
    seen.add(lower);
    signed.push(name);
  }
  const identity = o.identity === undefined ? undefined : checkIdentity(o.identity, domain);
  const timestamp = o.timestamp;
  if (
    timestamp !== undefined &&
    timestamp !== false &&
    !(timestamp instanceof Date && Number.isFinite(timestamp.getTime()) && timestamp.getTime() >= 0) && // t= is unsigned
    !(typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp >= 0)
  ) {
    throw new DkimError('options', 'timestamp must be a Date from 1970 on, seconds since the epoch, or false');
  }
  if (o.expiresIn !== undefined) {
    if (!(Number.isSafeInteger(o.expiresIn) && o.expiresIn > 0))
      throw new DkimError('options', 'expiresIn must be a positive whole number of seconds');
    if (timestamp === false) throw new DkimError('options', 'expiresIn needs a timestamp (x= counts from t=)');
  }
  const key = await importDkimKey(o.privateKey, o.algorithm);
  return {
    domain,
    selector,
    key,
    header,
    body,
    signed,
    oversign: new Set(oversignNames.map((n) => lowerAscii(n))),
    identity,
    timestamp,
    expiresIn: o.expiresIn,
  };
}

async function signOne(s: PreparedSignature, digest: MessageDigest): Promise<string> {
  // h=: each signed name once per occurrence, and once more when oversigned. Instances are
  // used from the bottom of the header up (RFC 6376 §5.4.2); an extra name selects nothing.
  const byName = new Map<string, string[]>();
  for (const f of digest.fields) {
    const n = headerName(f);
    byName.set(n, [...(byName.get(n) ?? []), f]);
  }
  const h: string[] = [];
  let data = '';
  for (const name of s.signed) {
    const lower = lowerAscii(name);
    const present = byName.get(lower) ?? [];
    for (let i = present.length - 1; i >= 0; i--) {
      h.push(name);
      data += canonicalizeHeader(present[i]!, s.header);
    }
    if (s.oversign.has(lower)) h.push(name);
  }

  const tags: [string, string][] = [
    ['v', '1'],
    ['a', s.key.algorithm],
    ['c', `${s.header}/${s.body}`],
    ['d', s.domain],
    ['s', s.selector],
  ];
  if (s.timestamp !== false) {
    const t = s.timestamp === undefined ? Date.now() / 1000 : s.timestamp instanceof Date ? s.timestamp.getTime() / 1000 : s.timestamp;
    const seconds = Math.floor(t);
    tags.push(['t', String(seconds)]);
    if (s.expiresIn !== undefined) tags.push(['x', String(seconds + s.expiresIn)]);
  }
  if (s.identity !== undefined) tags.push(['i', s.identity]);
  const { prefix, signatureWidth } = foldSignatureField(tags, h, digest.bodyHash[s.body]!);

  // The field itself, with an empty b=, ends the hashed data (no CRLF after it).
  data += canonicalizeHeader(prefix, s.header).slice(0, -2);
  const input = binaryBytes(data) as Uint8Array<ArrayBuffer>;
  const subtle = globalThis.crypto.subtle;
  let signature: ArrayBuffer;
  try {
    signature =
      s.key.algorithm === 'rsa-sha256'
        ? await subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, s.key.key as CryptoKey, input)
        : await subtle.sign({ name: 'Ed25519' }, s.key.key as CryptoKey, sha256(input) as Uint8Array<ArrayBuffer>); // RFC 8463 §3: sign the SHA-256 hash
  } catch (err) {
    throw new DkimError('key-unsupported', `signing failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return prefix + foldBase64(encodeBase64(new Uint8Array(signature)), signatureWidth) + '\r\n';
}

/** RFC 6376 §5.4: the signature MUST cover From, so a message without one cannot be signed. */
function checkFrom(fields: readonly string[]): true {
  if (!fields.some((f) => headerName(f) === 'from')) {
    throw new DkimError('message', 'the message has no From header field, which a DKIM signature must cover (RFC 6376 §5.4)');
  }
  return true;
}

// ---------------------------------------------------------------- the field's layout

const FIELD = 'DKIM-Signature: ';
const WIDTH = 78; // RFC 5322 §2.1.1: lines SHOULD be at most 78 characters

/**
 * The DKIM-Signature field up to and including "b=", folded at 78 columns, and how many
 * characters are left on its last line. Folding is FWS, which every canonicalisation and every
 * verifier skips: h= breaks after a colon, bh= and b= are never split from their names.
 */
function foldSignatureField(tags: [string, string][], h: string[], bodyHash: string): { prefix: string; signatureWidth: number } {
  let out = FIELD.slice(0, -1);
  let col = out.length;
  const add = (piece: string, sep: string): void => {
    if (col + sep.length + piece.length > WIDTH) {
      out += '\r\n ' + piece;
      col = 1 + piece.length;
    } else {
      out += sep + piece;
      col += sep.length + piece.length;
    }
  };
  for (const [k, v] of tags) add(`${k}=${v};`, ' ');
  h.forEach((name, i) => add(`${i === 0 ? 'h=' : ''}${name}${i === h.length - 1 ? ';' : ':'}`, i === 0 ? ' ' : ''));
  add(`bh=${bodyHash};`, ' ');
  // b= starts a line of its own unless a good part of the signature fits after it.
  add('b=', ' ');
  if (WIDTH - col < 16) {
    out = out.slice(0, out.length - 2).replace(/ $/, '') + '\r\n b=';
    col = 3;
  }
  return { prefix: out, signatureWidth: WIDTH - col };
}

/** The signature's base64, folded: what fits on the current line, then 77 per line. */
function foldBase64(b64: string, first: number): string {
  let out = b64.slice(0, first);
  for (let i = first; i < b64.length; i += WIDTH - 1) out += '\r\n ' + b64.slice(i, i + WIDTH - 1);
  return out;
}

// ---------------------------------------------------------------- option checks

function parseCanonicalization(c: unknown): [CanonicalizationAlgorithm, CanonicalizationAlgorithm] {
  const m = typeof c === 'string' ? /^(simple|relaxed)\/(simple|relaxed)$/.exec(c) : null;
  if (!m)
    throw new DkimError(
      'options',
      `canonicalization must be "relaxed/relaxed", "relaxed/simple", "simple/relaxed" or "simple/simple", not ${JSON.stringify(String(c))}`,
    );
  return [m[1] as CanonicalizationAlgorithm, m[2] as CanonicalizationAlgorithm];
}

/** A domain name or selector: dot-separated labels of letters, digits, '-' and '_'. */
function checkDomain(value: unknown, what: 'domain' | 'selector'): string {
  if (typeof value !== 'string' || value === '') throw new DkimError('options', `${what} is required (a string)`);
  if (/[^\x00-\x7f]/.test(value)) {
    throw new DkimError('options', `${what} ${JSON.stringify(value)} is not ASCII: give its A-label form (xn--...)`);
  }
  const labels = value.replace(/\.$/, '').split('.');
  if (value.length > 253 || labels.some((l) => !/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l))) {
    throw new DkimError('options', `${what} ${JSON.stringify(value)} is not a valid domain name (letters, digits, '-', '_' and dots)`);
  }
  return value.replace(/\.$/, '');
}

// ';' is a field-name character, but it ends the h= tag (RFC 6376 §3.2 tag-list), so verifiers
// would reject the signature; the length keeps h= within a 998-octet line.
function checkHeaderName(name: unknown): void {
  if (typeof name !== 'string' || !/^[\x21-\x39\x3c-\x7e]{1,900}$/.test(name)) {
    throw new DkimError(
      'options',
      `${JSON.stringify(String(name).slice(0, 60))} is not a header field name DKIM can list (printable ASCII, no colon, semicolon or space, at most 900 characters)`,
    );
  }
}

/** i=: [local-part] "@" domain, the domain d= or a subdomain of it (RFC 6376 §3.5). */
function checkIdentity(identity: unknown, domain: string): string {
  if (typeof identity !== 'string') throw new DkimError('options', 'identity must be a string such as "@example.com"');
  const at = identity.lastIndexOf('@');
  const local = identity.slice(0, Math.max(0, at));
  const idDomain = lowerAscii(identity.slice(at + 1));
  const d = lowerAscii(domain);
  if (at < 0 || !(idDomain === d || idDomain.endsWith('.' + d))) {
    throw new DkimError(
      'options',
      `identity ${JSON.stringify(identity)} must be "@${domain}", "user@${domain}" or within a subdomain of ${domain}`,
    );
  }
  checkDomain(identity.slice(at + 1), 'domain');
  if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*$/.test(local)) {
    throw new DkimError('options', `identity's local part ${JSON.stringify(local)} must be a plain (dot-atom) local part`);
  }
  // dkim-quoted-printable: '=' is the escape character (RFC 6376 §2.11).
  return local.replace(/=/g, '=3D') + identity.slice(at);
}
