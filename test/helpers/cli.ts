// The requirement every run-under-a-profile test has. Running the CLI itself: helpers/proc.ts.
import { findArch } from '../../src/arch/tables.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { haveTool, requirement } from './tools.js';

export { BIN, startSysfence, sysfence } from './proc.js';

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
