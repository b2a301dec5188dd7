import { release } from 'node:os';
import { nativeArch } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { CliError } from './errors.js';

/**
 * The ABI of this machine, for the commands that run or record something here. A machine sysfence
 * has no table for is an error, never silently treated as x86_64.
 */
export function hostArch(): ArchDef {
  const a = nativeArch();
  if (!a)
    throw new CliError(
      'host-arch-unknown',
      `sysfence has no syscall table for this machine (Node.js reports process.arch ${process.arch})`,
      undefined,
      'record elsewhere and map with generate --arch, or import a trace with --arch',
    );
  return a;
}

/**
 * The running kernel's version ("6.1.0-13-amd64" -> "6.1.0"), for the commands whose --kernel
 * defaults to this machine (convert, compile, verify, emu); the library itself never asks.
 */
export function runningKernel(): string {
  return /^\d+\.\d+(\.\d+)?/.exec(release())?.[0] ?? release();
}
