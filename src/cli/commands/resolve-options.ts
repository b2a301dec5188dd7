import type { Command } from 'commander';
import { findArch } from '../../arch/tables.js';
import { normalizeCapability } from '../../profile/capabilities.js';
import type { ResolveOptions } from '../../profile/resolve.js';
import { DEFAULT_KERNEL } from '../../profile/resolve.js';
import { CliError } from '../errors.js';
import { hostArch, runningKernel } from '../host.js';

/** Adds --arch, --capabilities and --kernel, the inputs of dockerd's profile resolution. */
export function resolveOptionsHelp(cmd: Command): void {
  cmd
    .option('--arch <arch>', 'host architecture for archMap and includes.arches (default: this machine)')
    .option('--capabilities <caps>', "comma-separated bounding capabilities (default: Docker's default set)")
    .option('--kernel <version>', 'host kernel version for minKernel (default: the running kernel)');
}

/** The resolve options the CLI gives the library: the host is this machine unless --arch says another. */
export function parseResolveOptions(opts: Record<string, string | undefined>): ResolveOptions {
  const out: ResolveOptions = { arch: hostArch() };
  if (opts.arch !== undefined) {
    const a = findArch(opts.arch);
    if (!a)
      throw new CliError(
        'unknown-arch',
        `unknown architecture "${opts.arch}"`,
        undefined,
        'e.g. x86_64, aarch64, SCMP_ARCH_S390X',
      );
    out.arch = a;
  }
  if (opts.capabilities !== undefined) {
    out.capabilities = opts.capabilities
      .split(',')
      .filter((c) => c.trim() !== '')
      .map((c) => {
        const n = normalizeCapability(c.trim());
        if (!n) throw new CliError('unknown-capability', `unknown capability "${c}"`);
        return n;
      });
  }
  if (opts.kernel !== undefined) {
    if (!/^\d+\.\d+/.test(opts.kernel))
      throw new CliError('bad-kernel-version', `--kernel "${opts.kernel}" is not a version like 6.1`);
    out.kernelVersion = opts.kernel;
  } else out.kernelVersion = runningKernel(); // as dockerd resolves minKernel: this machine's
  return out;
}

/** --capabilities and --kernel for the review commands (diff, merge, check, lint, report). */
export function reviewOptionsHelp(cmd: Command): Command {
  return cmd
    .option(
      '--capabilities <caps>',
      "comma-separated capabilities the container runs with (default: Docker's)",
    )
    .option('--kernel <version>', 'kernel version for minKernel rules', DEFAULT_KERNEL);
}

/** The review commands' --capabilities and --kernel, checked like the resolve options. */
export function parseReviewOptions(opts: Record<string, unknown>): {
  capabilities?: readonly string[];
  kernelVersion?: string;
} {
  const r = parseResolveOptions({
    capabilities: typeof opts.capabilities === 'string' ? opts.capabilities : undefined,
    kernel: typeof opts.kernel === 'string' ? opts.kernel : undefined,
  });
  return {
    ...(r.capabilities ? { capabilities: r.capabilities } : {}),
    ...(r.kernelVersion ? { kernelVersion: r.kernelVersion } : {}),
  };
}
