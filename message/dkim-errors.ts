// The one error type of the DKIM signer. It is a usage error (code EUSAGE, exit status 64 in the
// CLI): every cause is something the caller can fix, and `reason` says which kind it is.
import { SmtpUsageError } from '../core/errors.ts';

export type DkimErrorReason =
  | 'key-format' // not a key we can read (PEM, PKCS#8, PKCS#1, Ed25519 seed)
  | 'key-encrypted' // an encrypted PKCS#8 key: decrypt it first
  | 'key-type' // a key type DKIM has no algorithm for (EC P-256, ...), or one the algorithm option contradicts
  | 'key-too-small' // an RSA key under 1024 bits (RFC 8301 §3.2)
  | 'key-unsupported' // this runtime's WebCrypto cannot import or use the key
  | 'options' // a bad domain, selector, identity, header list, canonicalization ...
  | 'message' // the message cannot be signed: no From, a broken header section, too big a header
  | 'source'; // the message source misbehaved (gave different bytes the second time)

export class DkimError extends SmtpUsageError {
  readonly reason: DkimErrorReason;
  constructor(reason: DkimErrorReason, message: string) {
    super(`DKIM: ${message}`);
    this.reason = reason;
  }
}
