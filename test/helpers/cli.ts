// Running the built sysfence CLI from tests, and the requirement every run-under-a-profile test has.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findArch } from '../../src/arch/tables.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { haveTool, requirement } from './tools.js';

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** `sysfence ARGS` as a user runs it (no colour), with its output as text. */
export function sysfence(
  args: string[],
  o: { cwd?: string; env?: Record<string, string>; input?: string } = {},
) {
  return spawnSync('node', [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...o.env },
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.input !== undefined ? { input: o.input } : {}),
  });
}

/**
 * Why tests that run workloads under a profile (bubblewrap installs the filter, eBPF sees the
 * denials; x86_64 numbers) cannot run here, or undefined. In CI a missing part fails (requirement).
 */
export function runUnderProfileSkip(): string | undefined {
  if (process.arch !== 'x64') return 'written for x86_64 hosts';
  const problems = ebpfProblems(findArch('x86_64')!);
  return (
    requirement(haveTool('bwrap', ['--version']), 'bubblewrap') ??
    requirement(problems.length === 0, `eBPF (${problems.join('; ')})`)
  );
}
