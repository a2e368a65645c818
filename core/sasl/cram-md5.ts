// CRAM-MD5 (RFC 2195): the server sends a challenge, the client answers
// "user SP lowercase-hex(HMAC-MD5(password, challenge))". No initial response.
import { utf8 } from '../text.ts';
import { hmacMd5 } from './hash.ts';
import { SaslError, type SaslMechanism } from './mechanism.ts';

export const SASL_CRAM_MD5: SaslMechanism = {
  name: 'CRAM-MD5',
  strength: 30,
  needs: 'password',
  maxChallenges: 1,
  create(credentials) {
    if (!credentials.pass) throw new SaslError('CRAM-MD5 needs a password');
    if (credentials.authzid) throw new SaslError('CRAM-MD5 cannot carry an authorisation identity');
    const key = utf8(credentials.pass);
    let answered = false;
    return {
      start: () => undefined,
      step(challenge) {
        if (answered) throw new SaslError('CRAM-MD5: more than one server challenge');
        // An empty challenge has no freshness: the answer would be replayable.
        if (challenge.length === 0) throw new SaslError('CRAM-MD5: empty server challenge');
        answered = true;
        return utf8(`${credentials.user} ${toHex(hmacMd5(key, challenge))}`);
      },
      complete: () => true,
    };
  },
};

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
