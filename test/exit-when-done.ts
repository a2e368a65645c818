// A failed assertion can leave a server or socket open (the test threw before closing it), and
// then the file never exits. Once the suite is over, give it two seconds, then exit with the
// code uvu set, so a failure reports as a failure instead of a hang.
import type { Test } from 'uvu';

export function exitWhenDone(suite: Test): void {
  suite.after(() => {
    setTimeout(() => process.exit(), 2000).unref();
  });
}
