import { type Command, Option } from 'commander';
import { checkWritable } from '../../exec/files.js';
import type { SpoVersion } from '../../profile/spo.js';
import { EXIT_OK } from '../errors.js';
import { profileFormatOption, spoVersionOption, writeProfile } from '../formats.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { parseFormatOption, readProfile, requireOneProfile } from '../read-profile.js';
import { parseResolveOptions, resolveOptionsHelp } from './resolve-options.js';

export function registerConvert(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('convert')
    .description(
      'convert a profile between Docker JSON, OCI (as the runtime receives it), SPO YAML, a Kubernetes Localhost profile and raw BPF',
    )
    .argument('<profile>', 'Docker/OCI JSON or SPO SeccompProfile YAML ("-" for stdin)')
    .addOption(profileFormatOption('--to <format>', 'the output format').makeOptionMandatory())
    .addOption(
      new Option('--from <format>', 'the input format').choices(['auto', 'docker', 'spo']).default('auto'),
    )
    .option('--name <name>', 'metadata.name of the SPO object (default: the file name)')
    .option('--namespace <ns>', 'metadata.namespace of the SPO object')
    .addOption(spoVersionOption())
    .option('-o, --output <file>', 'write here instead of stdout')
    .option(
      '--as-is',
      "write the rules as given, even those runc/crun's libseccomp would refuse or enforce otherwise (rewritten by default)",
    );
  resolveOptionsHelp(cmd);
  cmd.addHelpText(
    'after',
    `
--to docker keeps everything (archMap, includes/excludes, comments) and writes sysfence's canonical
layout. --to oci, --to bpf and --to spo resolve the profile first, exactly as dockerd does for a container
with the given architecture, capabilities and kernel (defaults: this machine, Docker's default
capabilities, the running kernel).

Examples:
  sysfence convert docker-default.json --to oci --arch x86_64 -o seccomp.json
  sysfence convert profile.json --to spo --name my-app -o my-app.yaml`,
  );
  cmd.action((file: string, opts: Record<string, string | undefined>) => {
    checkWritable(opts.output, [file]);
    const r = readProfile(file, parseFormatOption(opts.from));
    const { profile, name } = requireOneProfile(r);
    if (opts.asIs)
      err('sysfence: --as-is: the rules are written as given, whatever runc and crun would make of them');
    const ro = parseResolveOptions(opts);
    writeProfile(profile, String(opts.to), {
      name: opts.name ?? name,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      output: opts.output,
      resolveOptions: { ...ro, arch: ro.arch ?? hostArch() },
      asIs: opts.asIs !== undefined,
      spoVersion: opts.spoVersion as SpoVersion,
      source: r.file,
      flag: '--to',
    });
    setExit(EXIT_OK);
  });
}
