// A stand-in for uvu inside QuickJS (uvu itself reads process, timers and the terminal): the
// same test()/test.after()/test.run() surface the core suites use. uvu/assert is the real one.
// run() reports through __report, which run-quickjs.mjs installs in the context.
type Fn = () => unknown;
interface Report {
  (passed: number, failed: number, failures: string): void;
}

const tests: { name: string; fn: Fn }[] = [];
const afters: Fn[] = [];

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}${'details' in e && e.details ? `\n${String(e.details)}` : ''}\n${e.stack ?? ''}`;
  return String(e);
}

async function run(): Promise<void> {
  let passed = 0;
  let failed = 0;
  let failures = '';
  for (const t of tests) {
    try {
      await t.fn();
      passed++;
    } catch (e) {
      failed++;
      failures += `FAIL "${t.name}"\n${describe(e)}\n`;
    }
  }
  for (const fn of afters) await fn();
  (globalThis as unknown as { __report: Report }).__report(passed, failed, failures);
}

export const test = Object.assign((name: string, fn: Fn) => void tests.push({ name, fn }), {
  run: () => void run(),
  after: (fn: Fn) => void afters.push(fn),
  skip: (name: string) => {
    throw new Error(`test.skip("${name}") is not allowed in a QuickJS suite: a skipped test must not hide in a green run`);
  },
});
