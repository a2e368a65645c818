// smtp-server's logger, silent but for the commands it received: what a test reads to see the
// exact lines the client sent (AUTH mechanism, MAIL parameters). No tests here.
export function commandLogger(commands: string[]): boolean {
  const quiet = (): void => {};
  const logger = {
    debug: (meta: { tnx?: string } | undefined, _fmt: string, line: string) => {
      if (meta?.tnx === 'command') commands.push(line);
    },
    info: quiet,
    warn: quiet,
    error: quiet,
    trace: quiet,
    fatal: quiet,
    child: () => logger,
  };
  // smtp-server's types say boolean; it takes a bunyan-like object too.
  return logger as unknown as boolean;
}
