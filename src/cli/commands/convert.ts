import { type Command, Option } from 'commander';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { ProfileError } from '../../profile/profile-error.js';
import { resolve } from '../../profile/resolve.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { serializeSpo } from '../../profile/spo.js';
import { CliError, EXIT_OK } from '../errors.js';
import { exactForRuntimes } from '../exact.js';
import { err, formatIssue } from '../output.js';
import { parseFormatOption, readProfile, requireOneProfile } from '../read-profile.js';
import { parseResolveOptions, resolveOptionsHelp } from './resolve-options.js';

export function registerConvert(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('convert')
    .description('convert a profile between Docker JSON, OCI (as the runtime receives it) and SPO YAML')
    .argument('<profile>', 'Docker/OCI JSON or SPO SeccompProfile YAML ("-" for stdin)')
    .addOption(
      new Option('--to <format>', 'docker | oci (as the runtime receives it) | spo')
        .choices(['docker', 'oci', 'spo'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--from <format>', 'the input format').choices(['auto', 'docker', 'spo']).default('auto'),
    )
    .option('--name <name>', 'metadata.name of the SPO object (default: the file name)')
    .option('--namespace <ns>', 'metadata.namespace of the SPO object')
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
layout. --to oci and --to spo resolve the profile first, exactly as dockerd does for a container
with the given architecture, capabilities and kernel (defaults: this machine, Docker's default
capabilities, the running kernel).

Examples:
  sysfence convert docker-default.json --to oci --arch x86_64 -o seccomp.json
  sysfence convert profile.json --to spo --name my-app -o my-app.yaml`,
  );
  cmd.action((file: string, opts: Record<string, string | undefined>) => {
    checkWritable(opts.output, [file]);
    const r = readProfile(file, parseFormatOption(opts.from));
    const { profile: given, name } = requireOneProfile(r);
    const profile = opts.asIs ? given : exactForRuntimes(given);
    if (opts.asIs)
      err('sysfence: --as-is: the rules are written as given, whatever runc and crun would make of them');
    let text: string;
    const to = opts.to;
    try {
      if (to === 'docker') text = serializeDocker(profile);
      else if (to === 'oci') text = serializeDocker(resolve(profile, parseResolveOptions(opts)));
      else if (to === 'spo') {
        const resolved =
          profile.archMap || (profile.syscalls ?? []).some((s) => s.includes || s.excludes)
            ? resolve(profile, parseResolveOptions(opts))
            : profile;
        const o = {
          name: opts.name ?? name,
          profile: resolved,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
        };
        const s = serializeSpo([o]);
        for (const i of s.issues) err(formatIssue(opts.output ?? '<output>', i, process.stderr));
        if (s.issues.some((i) => i.severity === 'error'))
          throw new CliError(
            'spo-cannot-express',
            'the profile cannot be written as a SeccompProfile without changing what it does',
          );
        text = s.text;
      } else throw new CliError('bad-option', `unknown output format "${to}" (use docker, oci or spo)`);
    } catch (e) {
      if (e instanceof ProfileError) throw new CliError(e.code, e.message, `${r.file} ${e.path}`);
      throw e;
    }
    if (opts.output) writeOutput(opts.output, text);
    else process.stdout.write(text);
    setExit(EXIT_OK);
  });
}
