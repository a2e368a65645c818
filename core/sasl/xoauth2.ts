// XOAUTH2 (Google's and Microsoft's pre-RFC 7628 OAuth 2.0 mechanism): the initial response
// is "user=U ^A auth=Bearer T ^A ^A". On failure the server sends a 334 with a base64 JSON
// error; the client answers with an empty response so the server ends with its 5xx.
import { utf8 } from '../text.ts';
import { SaslError, bearerExchange, type SaslMechanism } from './mechanism.ts';

export const SASL_XOAUTH2: SaslMechanism = {
  name: 'XOAUTH2',
  strength: 50,
  needs: 'token',
  maxChallenges: 1,
  create(credentials) {
    if (!credentials.token) throw new SaslError('XOAUTH2 needs a token');
    if (credentials.authzid) throw new SaslError('XOAUTH2 cannot carry an authorisation identity');
    const response = utf8(`user=${credentials.user}\x01auth=Bearer ${credentials.token}\x01\x01`);
    return bearerExchange('XOAUTH2', response, new Uint8Array(0));
  },
};
