import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { findArch, syscallTable } from '../../arch/tables.js';
import { describeRet } from '../../bpf/actions.js';
import { emulate } from '../../bpf/emulate.js';
import type { Instruction } from '../../bpf/instruction.js';
import { compile } from '../../compiler/compile.js';
import { formatAction } from '../../profile/actions.js';
import { evaluate } from '../../profile/evaluate.js';
import { runtimeEvaluate, runtimeFilter } from '../../targets/verdict.js';
import { CliError, EXIT_OK } from '../errors.js';
import { out, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { loadProgramFile } from './disasm.js';
import { filterOptions, setupFilter } from './filter-options.js';
import { describeTarget, parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

function parseArg(s: string): bigint {
  try {
    const v = s.startsWith('-') ? BigInt.asUintN(64, BigInt(s)) : BigInt(s);
    if (v < 0n || v >= 1n << 64n) throw new Error();
    return v;
  } catch {
    throw new CliError('bad-argument', `"${s}" is not a 64-bit integer (decimal, 0x hex or negative)`);
  }
}

export function registerEmu(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('emu')
    .description('run one syscall through a filter (a raw .bpf file or a profile) in the emulator')
    .argument('<filter>', 'FILE.bpf (raw) or a profile')
    .argument('<syscall>', 'name or number')
    .argument('[args...]', 'up to six arguments (decimal, 0x hex, negative numbers wrap to 64 bits)')
    .option('--json', 'machine-readable result');
  runtimeOptions(filterOptions(cmd), 'docker').addHelpText(
    'after',
    `
For a profile it prints what sysfence's compiled filter answers (the profile's intent), and what
the --runtime enforcing it answers, with the reason when they differ (libseccomp's order or
miscompilation, runc's ENOSYS stub, names libseccomp does not know).

Examples:
  sysfence emu profile.json --arch x86_64 socket 40 1 0
  sysfence emu profile.json --runtime podman getpid 2
  sysfence emu filter.bpf --arch x86 102 1`,
  );
  cmd.action((file: string, syscall: string, rawArgs: string[], opts: Record<string, unknown>) =>
    emuAction(file, syscall, rawArgs, opts, setExit),
  );
}

/** The `emu` command's action. */
function emuAction(
  file: string,
  syscall: string,
  rawArgs: string[],
  opts: Record<string, unknown>,
  setExit: (code: number) => void,
): void {
  const archName = (opts.arch as string[] | undefined)?.[0] ?? 'x86_64';
  const arch = findArch(archName);
  if (!arch) throw new CliError('unknown-arch', `unknown architecture "${archName}"`);
  const nr = /^-?\d+$/.test(syscall) ? Number(syscall) : syscallTable(arch).number(syscall);
  if (nr === undefined) throw new CliError('unknown-syscall', `${arch.id} has no syscall "${syscall}"`);
  if (rawArgs.length > 6) throw new CliError('bad-argument', 'a syscall has at most six arguments');
  const args = rawArgs.map(parseArg);
  let prog: Instruction[];
  let reference: string | undefined;
  let runtime: { target: string; action: string; label?: string; reason?: string } | undefined;
  if (/\.(json|ya?ml)$/.test(file) || (existsSync(file) && !file.endsWith('.bpf'))) {
    const { profile } = requireOneProfile(readProfile(file));
    const s = setupFilter(profile, opts);
    prog = compile(s.profile, {
      nativeArch: s.nativeArch,
      badArchAction: s.badArchAction,
      enosysStub: s.enosysStub,
    }).instructions;
    const v = evaluate(
      s.profile,
      arch,
      { nr, args },
      { nativeArch: s.nativeArch, badArchAction: s.badArchAction, enosysStub: s.enosysStub },
    );
    reference = v.kind === 'ERRNO' || v.kind === 'TRACE' ? `${v.kind}(${v.data})` : v.kind;
    const target = parseRuntimeTarget(opts, s.nativeArch);
    if (target.runtime !== 'sysfence') {
      const rv = runtimeEvaluate(runtimeFilter(s.profile, target), { arch: arch.auditArch, nr, args });
      runtime = {
        target: describeTarget(target),
        action: formatAction(rv.action),
        ...(rv.divergence ? { label: rv.divergence.label, reason: rv.divergence.reason } : {}),
      };
    }
  } else prog = loadProgramFile(file);
  const r = emulate(prog, { nr, arch: arch.auditArch, args }, arch.endian);
  const result = {
    arch: arch.id,
    nr,
    name: syscallTable(arch).name(nr >>> 0) ?? null,
    args: args.map(String),
    action: describeRet(r.ret),
    ret: `0x${r.ret.toString(16)}`,
    steps: r.steps,
    loads: r.loads,
    ...(reference ? { evaluate: reference } : {}),
    ...(runtime ? { runtime } : {}),
  };
  if (opts.json) out(toJsonText(result));
  else {
    out(
      `${arch.id} ${result.name ?? nr}(${args.join(', ')}) -> ${result.action} (${r.steps} instructions, reads offsets ${r.loads.join(',')})${reference ? `; evaluate: ${reference}` : ''}`,
    );
    if (runtime)
      out(
        runtime.label
          ? `  under ${runtime.target}: ${runtime.action} [${runtime.label}] ${runtime.reason}`
          : `  under ${runtime.target}: ${runtime.action} (as the profile says)`,
      );
  }
  setExit(EXIT_OK);
}
