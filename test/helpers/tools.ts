import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Live and oracle tests need real tools. Outside CI a missing tool skips the test with the
 * reason; in CI (CI=true) a missing tool is a failure, never a skip.
 */
export function haveTool(cmd: string, args: string[] = ['--version']): boolean {
  if (cmd.startsWith('/') && !existsSync(cmd)) return false;
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined;
}

export function havePythonSeccomp(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import seccomp'], { stdio: 'ignore' });
  return r.status === 0;
}

export const inCI = process.env.CI === 'true';

/** Returns a reason to skip, or undefined when the requirement holds. Throws in CI. */
export function requirement(ok: boolean, what: string): string | undefined {
  if (ok) return undefined;
  const msg = `${what} is missing (install it: see .ci/run)`;
  if (inCI) throw new Error(`CI=true but ${msg}`);
  return msg;
}

export function runPython(script: string, input: unknown): unknown {
  const r = spawnSync('/usr/bin/python3', [script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
