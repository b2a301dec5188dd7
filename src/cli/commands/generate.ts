import type { Command } from 'commander';
import { ARCH_DEFS } from '../../arch/defs.js';
import { findArch } from '../../arch/tables.js';
import type { ArchId } from '../../arch/types.js';
import { encode } from '../../bpf/encode.js';
import { compile } from '../../compiler/compile.js';
import { checkWritable, LIMITS, readText, writeOutput } from '../../exec/files.js';
import { RUNTIMES, type Runtime, type RuntimeSet, runtimeSet } from '../../knowledge/runtime-sets.js';
import { type DefaultDeny, type GenerateResult, generate } from '../../profile/generate.js';
import { k8sPatch } from '../../profile/k8s.js';
import { resolve } from '../../profile/resolve.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { serializeSpo } from '../../profile/spo.js';
import { parseRecording, RecordingError } from '../../recording/parse-recording.js';
import { normalize, type Recording } from '../../recording/recording.js';
import { CliError, EXIT_OK } from '../errors.js';
import { exactForRuntimes } from '../exact.js';
import { err, formatIssue } from '../output.js';

export function readRecording(file: string): Recording {
  try {
    return normalize(parseRecording(readText(file, LIMITS.recording, 'recording'), file));
  } catch (e) {
    if (e instanceof RecordingError)
      throw new CliError(
        e.code,
        e.message,
        `${file} ${e.path}`,
        e.code === 'recording-invalid' ? undefined : 'make it with `sysfence import` or `sysfence record`',
      );
    throw e;
  }
}

export function runtimeOption(value: unknown): RuntimeSet {
  const v = String(value ?? 'none');
  if (!(RUNTIMES as readonly string[]).includes(v))
    throw new CliError('bad-option', `--for must be one of ${RUNTIMES.join(', ')}, not ${v}`);
  return runtimeSet(v as Runtime);
}

/** A generated profile in the asked format (docker | spo | bpf); problems go to stderr. */
export function renderProfile(
  g: GenerateResult,
  format: string,
  name: string,
  output: string | undefined,
): string | Uint8Array {
  const profile = format === 'bpf' ? g.profile : exactForRuntimes(g.profile);
  // k8s: the Localhost profile file is Docker's JSON; writeK8sPatch adds the patch next to it
  if (format === 'docker' || format === 'k8s') return serializeDocker(profile);
  const first = profile.archMap?.[0]?.architecture ?? profile.architectures?.[0];
  const native = findArch(first ?? 'x86_64')!;
  const p = profile.archMap ? resolve(profile, { arch: native, kernelVersion: '6.1' }) : profile;
  if (format === 'spo') {
    const s = serializeSpo([{ name, profile: p }]);
    for (const i of s.issues) err(formatIssue(output ?? '<output>', i, process.stderr));
    return s.text;
  }
  if (format === 'bpf') {
    if (!output && process.stdout.isTTY)
      throw new CliError('binary-to-terminal', 'raw BPF is binary: use -o FILE');
    return encode(compile(p, { nativeArch: native.id }).instructions);
  }
  throw new CliError('bad-option', `unknown --format "${format}" (docker, spo, k8s or bpf)`);
}

/** --format k8s: the profile goes to -o (a Localhost profile file), the pod-template patch next to it. */
export function writeK8sPatch(format: string, output: string | undefined): void {
  if (format !== 'k8s') return;
  if (!output) throw new CliError('bad-option', '--format k8s writes two files: give -o NAME.json');
  const patch = `${output.replace(/\.json$/, '')}.k8s.yaml`;
  writeOutput(patch, k8sPatch(output));
  err(`sysfence: wrote ${patch}: the pod-template patch that points a workload at ${output}`);
}

/** One line of generate's account on stderr, said as sysfence's. */
const say = (line: string) => err(`sysfence: ${line}`);

/** Says on stderr what generate added and what it could not write. */
export function reportGenerated(g: GenerateResult, brief = false): void {
  const byReason = new Map<string, string[]>();
  for (const i of g.implied) byReason.set(i.because, [...(byReason.get(i.because) ?? []), i.name]);
  for (const [because, names] of byReason) say(`added ${names.join(', ')}: ${because}`);
  const byFamily = new Map<string, typeof g.families>();
  for (const f of g.families) byFamily.set(f.family, [...(byFamily.get(f.family) ?? []), f]);
  for (const [family, adds] of byFamily)
    say(
      `added ${adds.map((a) => a.name).join(', ')} (family ${family}, ${adds[0]!.trigger === 'always' ? 'always' : `recorded ${[...new Set(adds.map((a) => a.trigger))].join(', ')}`}): ${adds[0]!.why}`,
    );
  if (g.families.length > 0)
    say(
      `${g.families.length} call${g.families.length === 1 ? '' : 's'} added from call families (--exact: only what was recorded)`,
    );
  reportCoverage(g);
  for (const x of g.crossArch) {
    for (const m of x.mapped)
      say(`${x.target}: ${m.from} -> ${m.to.length > 0 ? m.to.join(', ') : '(nothing)'}: ${m.why}`);
    if (x.variants.length > 0)
      say(
        `${x.target}: added the 32-bit variants glibc calls first: ${x.variants.map((v) => v.to).join(', ')}`,
      );
    for (const d of x.dropped)
      say(
        d.why
          ? `${x.target}: ${d.name} left out: ${d.why}`
          : `warning[unmapped-syscall] ${x.target}: ${d.name} has no counterpart sysfence knows there: the profile does not allow it; record on ${x.target} (qemu-${x.target} -strace) if the program needs it`,
      );
  }
  for (const a of g.argRules)
    say(
      `argument rule: ${a.name} checks argument ${a.indexes.join(' and ')} (${a.rules} allowed value${a.rules === 1 ? '' : 's'})`,
    );
  for (const s of g.argSkipped) say(`no argument rule for ${s.name} argument ${s.index}: ${s.why}`);
  if (g.enosys.length > 0)
    say(
      brief
        ? `ERRNO(ENOSYS) by an explicit rule for the ${g.enosys.length} calls libraries probe (generate names them; --no-probed to leave them to the default)`
        : `ERRNO(ENOSYS) by an explicit rule: ${g.enosys.join(', ')}: libraries fall back from these only on ENOSYS (--no-probed to leave them to the default)`,
    );
  for (const u of g.unnamed)
    say(
      `warning[unnamed-syscall] ${u.abi} ${u.name} (${u.count} calls) has no name on that ABI; a profile cannot list it`,
    );
}

/** With several runs: the calls only some of them made, fewest first. */
export function reportCoverage(g: GenerateResult, shown = 12): void {
  const { runs, partial } = g.coverage;
  if (runs < 2) return;
  if (partial.length === 0) {
    say(`every recorded call was made in all ${runs} runs`);
    return;
  }
  const once = partial.filter((p) => p.runs === 1);
  say(
    `${partial.length} call${partial.length === 1 ? '' : 's'} were made in only some of the ${runs} runs${once.length ? ` (${once.length} in just one)` : ''}: the fragile ones, another input may need a call no run made`,
  );
  for (const p of partial.slice(0, shown))
    say(
      `  ${p.name}: ${p.runs} of ${runs} runs${p.first ? `, first at ${p.first}` : ''}${p.executables.length ? ` (${p.executables.slice(0, 3).join(', ')})` : ''}`,
    );
  if (partial.length > shown)
    say(`  ... and ${partial.length - shown} more (sysfence report --recording shows all)`);
}

/** `--arch aarch64,arm`: known ABIs, said before anything is read. */
export function archListOption(v: string, args: boolean): ArchId[] {
  const out: ArchId[] = [];
  for (const name of v.split(',').map((x) => x.trim())) {
    const a = findArch(name);
    if (!a)
      throw new CliError(
        'bad-option',
        `--arch: unknown ABI "${name}" (${ARCH_DEFS.map((d) => d.id).join(', ')})`,
      );
    out.push(a.id);
  }
  if (args)
    throw new CliError(
      'bad-option',
      '--args with --arch: argument values recorded on one ABI (ioctl requests, flags) are not vouched for on another',
    );
  return out;
}

export function registerGenerate(program: Command, setExit: (code: number) => void): void {
  program
    .command('generate')
    .description('turn recordings into an allow-list profile (ENOSYS for everything not seen)')
    .argument('<recording...>', 'recordings from `sysfence import` (or `record`)')
    .option('--deny <how>', 'what unrecorded calls get: enosys (default) | eperm | kill', 'enosys')
    .option(
      '--companions',
      'also allow the companion ABIs (x86_64: x86, x32; aarch64: arm) through an archMap',
    )
    .option(
      '--args',
      'argument rules from recorded values (record --args), where they make a tight, safe rule',
    )
    .option(
      '--for <runtime>',
      `add what the container runtime calls after installing the filter: ${RUNTIMES.join(' | ')}`,
      'none',
    )
    .option('--exact', 'only what was recorded (and implied): no call-family siblings')
    .option(
      '--arch <abis>',
      'the ABIs the profile is for (comma-separated: aarch64, arm, riscv64, x86_64, ...), when not the recorded ones: calls are mapped (open -> openat, poll -> ppoll, ...)',
    )
    .option(
      '--no-probed',
      'do not give the calls libraries probe (clone3, openat2, ...) an explicit ERRNO(ENOSYS) rule',
    )
    .option(
      '--format <fmt>',
      'docker | spo | k8s (Localhost profile + pod-template patch) | bpf (raw filter for the first recorded ABI)',
      'docker',
    )
    .option('--name <name>', 'metadata.name for --format spo', 'sysfence-generated')
    .option('-o, --output <file>', 'write here instead of stdout')
    .addHelpText(
      'after',
      `
ENOSYS, not EPERM, is the default denial: glibc and libuv fall back from clone3, faccessat2,
openat2, io_uring ... only on ENOSYS. exit, exit_group, rt_sigreturn (sigreturn on 32-bit ABIs)
and restart_syscall are added when they follow from what was recorded; stderr says which and why.
Call families (poll/ppoll/select, accept/accept4, dup/dup2/dup3, the stat family, ...: calls a
program picks among by input, not by code) bring the siblings of a recorded call; stderr says which
and why, --exact turns it off. Several recordings (one per input) give one profile, and stderr names
the calls only some runs made.

--arch maps a recording to other ABIs: what the same program calls there (aarch64 has no open,
stat, poll, dup2, pipe, fork, ...: glibc calls openat, newfstatat, ppoll, dup3, pipe2, clone);
stderr says each mapping and why, and warns of any call with no known counterpart.

Examples:
  sysfence import app.log -o app.rec.json && sysfence generate app.rec.json -o app.json
  sysfence generate app.rec.json --arch x86_64,aarch64 -o app.multi.json
  sysfence generate --companions --deny eperm a.rec.json b.rec.json`,
    )
    .action((files: string[], opts: Record<string, string | boolean | undefined>) => {
      const deny = String(opts.deny);
      if (!['enosys', 'eperm', 'kill'].includes(deny))
        throw new CliError('bad-option', `--deny must be enosys, eperm or kill, not ${deny}`);
      checkWritable(opts.output as string | undefined, files);
      const recordings = files.map(readRecording);
      // calls on lines the importer could not read are not in the profile: said, with where
      recordings.forEach((r, i) => {
        if (r.malformed.count > 0)
          err(
            `sysfence: warning: ${files[i]} holds ${r.malformed.count} log line${r.malformed.count === 1 ? '' : 's'} that could not be read (first: ${r.malformed.samples[0]?.where} ${r.malformed.samples[0]?.code}): calls on them are not in the profile`,
          );
      });
      const g = generate(recordings, {
        deny: deny as DefaultDeny,
        companions: opts.companions === true,
        args: opts.args === true,
        runtime: runtimeOption(opts.for),
        probed: opts.probed !== false,
        exact: opts.exact === true,
        ...(opts.arch ? { arch: archListOption(String(opts.arch), opts.args === true) } : {}),
      });
      reportGenerated(g);
      const out = renderProfile(g, String(opts.format), String(opts.name), opts.output as string | undefined);
      if (String(opts.format) === 'k8s' && !opts.output)
        throw new CliError('bad-option', '--format k8s writes two files: give -o NAME.json');
      if (opts.output) writeOutput(String(opts.output), out);
      else process.stdout.write(out);
      writeK8sPatch(String(opts.format), opts.output as string | undefined);
      setExit(EXIT_OK);
    });
}
