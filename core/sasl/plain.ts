// PLAIN (RFC 4616): one message, "authzid NUL authcid NUL passwd", sent as the initial
// response. Only safe over TLS; the core enforces that, not the mechanism.
import { utf8 } from '../text.ts';
import { SaslError, type SaslMechanism } from './mechanism.ts';

export const SASL_PLAIN: SaslMechanism = {
  name: 'PLAIN',
  strength: 20,
  needs: 'password',
  maxChallenges: 1,
  create(credentials) {
    if (!credentials.pass) throw new SaslError('PLAIN needs a password');
    const response = utf8(`${credentials.authzid ?? ''}\0${credentials.user}\0${credentials.pass}`);
    let answered = false;
    return {
      start: () => response,
      step(challenge) {
        // An empty challenge asks for the initial response: the core may have held it back
        // (the 512-octet line limit). Any other challenge is outside RFC 4616.
        if (answered || challenge.length !== 0) throw new SaslError('PLAIN: unexpected server challenge');
        answered = true;
        return response;
      },
      complete: () => true,
    };
  },
};
