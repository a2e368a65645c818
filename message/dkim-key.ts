// DKIM private keys: read PEM (PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"), DER or a bare
// Ed25519 seed, and import them through WebCrypto (globalThis.crypto.subtle), which Node, Deno,
// Bun and Workers all have, so no dependency and no runtime-specific code.
//
// rsa-sha256 (RFC 8301): RSASSA-PKCS1-v1_5 with SHA-256, keys of 1024 bits or more.
// ed25519-sha256 (RFC 8463): PureEdDSA Ed25519 over the SHA-256 of the header hash input.
// A PKCS#1 key is wrapped into PKCS#8 here (a few DER octets around it), as WebCrypto imports
// only PKCS#8; the DER walk below reads just enough structure to do that and to tell key types.
import { joinBytes } from '../core/bytes.ts';
import { decodeBase64, encodeBase64 } from '../core/sasl/base64.ts';
import { DkimError } from './dkim-errors.ts';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** WebCrypto's CryptoKey, by its shape: the published types must not need the DOM library
 *  (a consumer compiling with only `lib: es2022` and Node's types has no CryptoKey). */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}

/** What signing needs: the imported key and the DKIM algorithm it signs with. */
export interface DkimPrivateKey {
  readonly algorithm: DkimAlgorithm;
  readonly key: WebCryptoKey;
  /** RSA modulus size in bits (undefined for Ed25519). */
  readonly bits: number | undefined;
}

/** A key as the caller may give it: PEM text, its bytes, DER, a base64 Ed25519 seed, or a
 *  WebCrypto private key already imported (RSASSA-PKCS1-v1_5 SHA-256 or Ed25519, usage sign). */
export type DkimKeyInput = string | Uint8Array | WebCryptoKey;

/** RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits. */
export const MIN_RSA_BITS = 1024;

const RSA_OID = '2a864886f70d010101'; // 1.2.840.113549.1.1.1 rsaEncryption
const ED25519_OID = '2b6570'; // 1.3.101.112
const OTHER_OIDS: Record<string, string> = {
  '2a8648ce3d0201': 'an EC (ECDSA) key',
  '2b6571': 'an Ed448 key',
  '2a864886f70d01010a': 'an RSASSA-PSS key',
  '2a8648ce380401': 'a DSA key',
  '2b656e': 'an X25519 key',
};

const CONVERT_PKCS8 = 'openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pkcs8.pem';

/** Reads and imports a DKIM signing key. Every failure is a DkimError saying what to do. */
export async function importDkimKey(input: DkimKeyInput, algorithm?: DkimAlgorithm): Promise<DkimPrivateKey> {
  if (algorithm !== undefined && algorithm !== 'rsa-sha256' && algorithm !== 'ed25519-sha256') {
    throw new DkimError('options', `algorithm must be "rsa-sha256" or "ed25519-sha256", not ${JSON.stringify(String(algorithm))}`);
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new DkimError('key-unsupported', 'this runtime has no WebCrypto (globalThis.crypto.subtle); DKIM signing needs it');
  let key: CryptoKey;
  if (isCryptoKey(input)) {
    key = input as CryptoKey; // the shape was checked; WebCrypto itself rejects a forgery
  } else {
    const der = pkcs8FromInput(input);
    const kind = keyKind(der);
    if (algorithm !== undefined && algorithm !== kind) {
      throw new DkimError('key-type', `the key is ${kind === 'rsa-sha256' ? 'an RSA' : 'an Ed25519'} key, which cannot sign ${algorithm}`);
    }
    // Checked before import too: some WebCrypto implementations refuse small keys themselves,
    // with a message that would not say why.
    if (kind === 'rsa-sha256') checkRsaBits(rsaModulusBits(der));
    const params = kind === 'rsa-sha256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'Ed25519' };
    try {
      key = await subtle.importKey('pkcs8', der as Uint8Array<ArrayBuffer>, params, false, ['sign']);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (kind === 'ed25519-sha256' && /not ?supported|unrecognized|unknown/i.test(why)) {
        throw new DkimError(
          'key-unsupported',
          `this runtime's WebCrypto cannot import Ed25519 keys (${why}); use an RSA key or a newer runtime`,
        );
      }
      throw new DkimError('key-format', `the key could not be imported: ${why}`);
    }
  }
  return checkKey(key, algorithm);
}

/** The key as PKCS#8 DER, whatever form it came in. */
function pkcs8FromInput(input: string | Uint8Array): Uint8Array {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new DkimError('key-format', 'the key must be PEM text, DER bytes or a CryptoKey');
  }
  let text: string | undefined;
  if (typeof input === 'string') text = input;
  else if (/^\s*-----BEGIN /.test(asciiPrefix(input))) text = new TextDecoder().decode(input);
  if (text === undefined) return derToPkcs8(input as Uint8Array);

  const pem = findPem(text);
  if (pem) {
    switch (pem.label) {
      case 'PRIVATE KEY':
        return derToPkcs8(pem.der, 'PRIVATE KEY');
      case 'RSA PRIVATE KEY':
        if (pem.encrypted)
          throw new DkimError(
            'key-encrypted',
            `the RSA key is encrypted with a passphrase: decrypt it first (${CONVERT_PKCS8}, which asks for the passphrase)`,
          );
        return wrapRsaPkcs1(pem.der);
      case 'ENCRYPTED PRIVATE KEY':
        throw new DkimError(
          'key-encrypted',
          `the key is encrypted with a passphrase: decrypt it first (openssl pkcs8 -in key.pem -out key.plain.pem, which asks for the passphrase)`,
        );
      case 'EC PRIVATE KEY':
        throw new DkimError('key-type', 'this is an EC (ECDSA) key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256) keys');
      case 'OPENSSH PRIVATE KEY':
        throw new DkimError(
          'key-format',
          'this is an OpenSSH key file; make a DKIM key with: openssl genpkey -algorithm ed25519 -out dkim.pem (or -algorithm rsa -pkeyopt rsa_keygen_bits:2048)',
        );
      case 'PUBLIC KEY':
      case 'RSA PUBLIC KEY':
        throw new DkimError('key-format', 'this is a public key; signing needs the private key (the public key goes in the DNS record)');
      default:
        throw new DkimError(
          'key-format',
          `a PEM "${pem.label}" block is not a private key; expected "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY"`,
        );
    }
  }
  // No PEM armour: base64 of a 32-octet Ed25519 seed (what dknewkey and rspamd write) or of DER.
  const raw = decodeBase64(text.replace(/\s+/g, ''));
  if (raw && raw.length === 32) return wrapEd25519Seed(raw);
  if (raw && raw.length > 32 && raw[0] === 0x30) return derToPkcs8(raw);
  throw new DkimError(
    'key-format',
    'the key is not PEM ("-----BEGIN PRIVATE KEY-----"), nor a base64 Ed25519 seed; give the private key file',
  );
}

/** DER that is PKCS#8, or PKCS#1 (then wrapped). */
function derToPkcs8(der: Uint8Array, label?: string): Uint8Array {
  const top = readTlv(der, 0);
  if (!top || top.tag !== 0x30 || top.end !== der.length)
    throw new DkimError('key-format', `the ${label ?? 'DER'} key data is not valid DER`);
  const version = readTlv(der, top.start);
  const second = version && readTlv(der, version.end);
  // PKCS#8: INTEGER 0|1, SEQUENCE AlgorithmIdentifier, OCTET STRING. PKCS#1: INTEGER 0, INTEGER n, ...
  if (version?.tag === 0x02 && second?.tag === 0x30) return der;
  if (version?.tag === 0x02 && second?.tag === 0x02 && label === undefined) return wrapRsaPkcs1(der);
  throw new DkimError('key-format', `the ${label ?? 'DER'} key data is not a PKCS#8 private key`);
}

/** Which DKIM algorithm a PKCS#8 key signs with (from its AlgorithmIdentifier OID). */
function keyKind(pkcs8: Uint8Array): DkimAlgorithm {
  const top = readTlv(pkcs8, 0)!;
  const version = readTlv(pkcs8, top.start)!;
  const algId = readTlv(pkcs8, version.end)!;
  const oid = readTlv(pkcs8, algId.start);
  if (!oid || oid.tag !== 0x06) throw new DkimError('key-format', 'the PKCS#8 key has no algorithm identifier');
  const hex = toHex(pkcs8.subarray(oid.start, oid.end));
  if (hex === RSA_OID) return 'rsa-sha256';
  if (hex === ED25519_OID) return 'ed25519-sha256';
  const what = OTHER_OIDS[hex] ?? 'a key of an unknown type';
  throw new DkimError('key-type', `this is ${what}; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256) keys`);
}

function checkKey(key: CryptoKey, algorithm: DkimAlgorithm | undefined): DkimPrivateKey {
  if (key.type !== 'private' || !key.usages.includes('sign')) {
    throw new DkimError('key-type', 'the CryptoKey must be a private key with the "sign" usage');
  }
  const alg = key.algorithm as { name: string; modulusLength?: number; hash?: { name: string } };
  let kind: DkimAlgorithm;
  if (alg.name === 'RSASSA-PKCS1-v1_5') {
    if (alg.hash?.name !== 'SHA-256')
      throw new DkimError('key-type', `the RSA CryptoKey is bound to ${alg.hash?.name ?? 'no hash'}; rsa-sha256 needs SHA-256`);
    kind = 'rsa-sha256';
  } else if (alg.name === 'Ed25519') {
    kind = 'ed25519-sha256';
  } else {
    throw new DkimError('key-type', `a ${alg.name} CryptoKey cannot sign DKIM (use RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519)`);
  }
  if (algorithm !== undefined && algorithm !== kind) throw new DkimError('key-type', `the key signs ${kind}, not ${algorithm}`);
  const bits = kind === 'rsa-sha256' ? alg.modulusLength : undefined;
  if (kind === 'rsa-sha256') checkRsaBits(bits);
  return { algorithm: kind, key, bits };
}

function checkRsaBits(bits: number | undefined): void {
  if (bits === undefined || bits < MIN_RSA_BITS) {
    throw new DkimError(
      'key-too-small',
      `the RSA key has ${bits ?? 'an unknown number of'} bits; RFC 8301 requires at least ${MIN_RSA_BITS} (2048 recommended): openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out dkim.pem`,
    );
  }
}

/** The modulus size of a PKCS#8 RSA key: PrivateKeyInfo > OCTET STRING > RSAPrivateKey > n. */
function rsaModulusBits(pkcs8: Uint8Array): number {
  const top = readTlv(pkcs8, 0)!;
  const version = readTlv(pkcs8, top.start)!;
  const algId = readTlv(pkcs8, version.end)!;
  const octets = readTlv(pkcs8, algId.end);
  const seq = octets?.tag === 0x04 ? readTlv(pkcs8, octets.start) : undefined;
  const v = seq?.tag === 0x30 ? readTlv(pkcs8, seq.start) : undefined;
  const n = v?.tag === 0x02 ? readTlv(pkcs8, v.end) : undefined;
  if (!n || n.tag !== 0x02) throw new DkimError('key-format', 'the RSA key data is not an RSAPrivateKey');
  let at = n.start;
  while (at < n.end && pkcs8[at] === 0) at++;
  if (at === n.end) return 0;
  return (n.end - at - 1) * 8 + (32 - Math.clz32(pkcs8[at]!));
}

/**
 * The DNS TXT record ("v=DKIM1; k=...; p=...") that publishes the public half of a private key,
 * for `selector._domainkey.domain`. RSA: p= is the SubjectPublicKeyInfo; Ed25519 (RFC 8463
 * §4.2): p= is the raw 32-octet public key.
 */
export async function dkimDnsRecord(input: string | Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new DkimError('key-unsupported', 'this runtime has no WebCrypto (globalThis.crypto.subtle)');
  const der = pkcs8FromInput(input);
  const kind = keyKind(der);
  const params = kind === 'rsa-sha256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'Ed25519' };
  const key = await subtle.importKey('pkcs8', der as Uint8Array<ArrayBuffer>, params, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', key);
  if (kind === 'ed25519-sha256') return `v=DKIM1; k=ed25519; p=${encodeBase64(base64url(jwk.x!))}`;
  const pub = await subtle.importKey('jwk', { kty: 'RSA', n: jwk.n!, e: jwk.e!, alg: 'RS256', ext: true }, params, true, ['verify']);
  const spki = new Uint8Array(await subtle.exportKey('spki', pub));
  return `v=DKIM1; k=rsa; p=${encodeBase64(spki)}`;
}

// ---------------------------------------------------------------- PEM and DER

interface Pem {
  label: string;
  der: Uint8Array;
  encrypted: boolean;
}

/** The first PEM block whose label names a key, decoded. */
function findPem(text: string): Pem | undefined {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let first: Pem | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const label = m[1]!;
    let body = m[2]!;
    // RFC 1421 headers (Proc-Type, DEK-Info) come before a blank line in legacy encrypted keys.
    const encrypted = /Proc-Type:\s*4,\s*ENCRYPTED/i.test(body);
    if (/^\s*[A-Za-z-]+:/.test(body)) body = body.slice(body.search(/\r?\n\r?\n/) + 1);
    const der = encrypted ? new Uint8Array(0) : decodeBase64(body.replace(/\s+/g, ''));
    if (!der) throw new DkimError('key-format', `the PEM "${label}" block is not valid base64`);
    const pem = { label, der, encrypted };
    if (label.endsWith('PRIVATE KEY')) return pem;
    first ??= pem;
  }
  return first;
}

interface Tlv {
  tag: number;
  start: number; // first content octet
  end: number; // one past the last content octet
}

/** One DER tag-length-value at `at`, or undefined if it does not fit the data. */
function readTlv(b: Uint8Array, at: number): Tlv | undefined {
  if (at + 2 > b.length) return undefined;
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  const end = start + len;
  return end > b.length ? undefined : { tag, start, end };
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((k, p) => k + p.length, 0);
  return joinBytes([[tag, ...derLength(len)], ...parts]);
}

const VERSION_0 = Uint8Array.of(0x02, 0x01, 0x00);

/** PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo (RFC 5208): version 0, rsaEncryption
 *  with NULL parameters, the PKCS#1 octets as an OCTET STRING. */
function wrapRsaPkcs1(pkcs1: Uint8Array): Uint8Array {
  const top = readTlv(pkcs1, 0);
  const version = top && readTlv(pkcs1, top.start);
  const modulus = version && readTlv(pkcs1, version.end);
  if (!top || top.tag !== 0x30 || top.end !== pkcs1.length || version?.tag !== 0x02 || modulus?.tag !== 0x02) {
    throw new DkimError('key-format', `the "RSA PRIVATE KEY" data is not a PKCS#1 key; convert it with: ${CONVERT_PKCS8}`);
  }
  const algorithm = der(0x30, der(0x06, fromHex(RSA_OID)), Uint8Array.of(0x05, 0x00));
  return der(0x30, VERSION_0, algorithm, der(0x04, pkcs1));
}

/** A raw 32-octet Ed25519 private key (RFC 8032 seed) as PKCS#8 (RFC 8410). */
function wrapEd25519Seed(seed: Uint8Array): Uint8Array {
  return der(0x30, VERSION_0, der(0x30, der(0x06, fromHex(ED25519_OID))), der(0x04, der(0x04, seed)));
}

function isCryptoKey(x: unknown): x is WebCryptoKey {
  return typeof CryptoKey !== 'undefined'
    ? x instanceof CryptoKey
    : x !== null && typeof x === 'object' && 'algorithm' in x && 'usages' in x;
}

function asciiPrefix(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < Math.min(b.length, 64); i++) s += String.fromCharCode(b[i]!);
  return s;
}

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const out = decodeBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  if (!out) throw new DkimError('key-format', 'the runtime exported a malformed JWK');
  return out;
}
