import { existsSync } from 'node:fs';
import { probe, run } from './proc.js';

/**
 * Live and oracle tests need real tools. Outside CI a missing tool skips the test with the
 * reason; in CI (CI=true) a missing tool is a failure, never a skip.
 */
export function haveTool(cmd: string, args: string[] = ['--version']): boolean {
  if (cmd.startsWith('/') && !existsSync(cmd)) return false;
  return probe(cmd, args).status !== null;
}

export function havePythonSeccomp(): boolean {
  return probe('/usr/bin/python3', ['-c', 'import seccomp']).status === 0;
}

/** A Docker engine answers (scripts/start-dockerd.sh starts one). */
export function haveDocker(): boolean {
  return probe('docker', ['info']).status === 0;
}

export const inCI = process.env.CI === 'true';

/** Returns a reason to skip, or undefined when the requirement holds. Throws in CI. */
export function requirement(ok: boolean, what: string): string | undefined {
  if (ok) return undefined;
  const msg = `${what} is missing (install it: see .ci/run)`;
  if (inCI) throw new Error(`CI=true but ${msg}`);
  return msg;
}

/** Runs a Python oracle script with `input` as JSON on stdin; its stdout as JSON. */
export async function runPython(script: string, input: unknown, timeout = 300_000): Promise<unknown> {
  const r = await run('/usr/bin/python3', [script], { input: JSON.stringify(input), timeout });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
