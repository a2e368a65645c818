// LOGIN (draft-murchison-sasl-login): no initial response; the server prompts twice, the
// client answers user then password. The prompts ("Username:", "Password:", or anything a
// server invents, possibly localised) are not read: the step count decides.
import { utf8 } from '../text.ts';
import { SaslError, type SaslMechanism } from './mechanism.ts';

export const SASL_LOGIN: SaslMechanism = {
  name: 'LOGIN',
  strength: 10,
  needs: 'password',
  maxChallenges: 2,
  create(credentials) {
    if (!credentials.pass) throw new SaslError('LOGIN needs a password');
    // Dropping an authzid would silently authenticate as a different identity.
    if (credentials.authzid) throw new SaslError('LOGIN cannot carry an authorisation identity');
    const answers = [utf8(credentials.user), utf8(credentials.pass)];
    let steps = 0;
    return {
      start: () => undefined,
      step() {
        const answer = answers[steps++];
        if (!answer) throw new SaslError('LOGIN: more than two server challenges');
        return answer;
      },
      complete: () => true,
    };
  },
};
