import type { Command } from 'commander';
import { compile } from '../../compiler/compile.js';
import { verifyProgram } from '../../compiler/verify.js';
import { dataPath } from '../../knowledge/data-files.js';
import { explainProfile, explainSyscall } from '../../profile/explain.js';
import { resolve } from '../../profile/resolve.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { EXIT_OK } from '../errors.js';
import { out, style } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';

/**
 * The built-in demo. Until recording exists it validates, converts and explains Docker's default
 * profile; the README's first command stays `npm run demo` as the demo grows.
 */
export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description("a short tour on a built-in workload (today: Docker's default profile)")
    .action(() => {
      const file = dataPath('profiles/docker-default.json');
      out(style.bold("sysfence demo: Docker's default seccomp profile"));
      const r = readProfile(file);
      const e = r.issues.filter((i) => i.severity === 'error').length;
      const w = r.issues.filter((i) => i.severity === 'warning').length;
      out(
        `1. validate: ${e} errors, ${w} warnings in ${(r.profiles[0]?.profile.syscalls ?? []).length} rules`,
      );
      const { profile } = requireOneProfile(r);
      const oci = resolve(profile, { arch: 'x86_64', kernelVersion: '6.1' });
      const names = new Set((oci.syscalls ?? []).flatMap((s) => s.names ?? []));
      out(
        `2. convert --to oci (x86_64, Docker's default capabilities, kernel 6.1): ${oci.syscalls?.length} rules naming ${names.size} syscalls, ` +
          `${serializeDocker(oci).length} bytes, architectures ${oci.architectures?.join(', ')}`,
      );
      const rows = explainProfile(profile, { arches: ['x86_64', 'x86', 'aarch64'] });
      for (const row of rows)
        out(
          `3. explain on ${row.arch}: ${row.allowed} syscalls allowed unconditionally, ${row.conditional} by argument, default ${row.defaultAction}`,
        );
      for (const name of ['clone3', 'mount', 'io_uring_setup']) {
        const x = explainSyscall(name);
        out(`4. ${name}: ${x.summary ?? ''}; Docker: ${x.docker.verdict} (${x.docker.detail})`);
      }
      const c = compile(oci, { nativeArch: 'x86_64' });
      const v = verifyProgram(oci, c.instructions, { nativeArch: 'x86_64' });
      out(
        `5. compile for x86_64+x86+x32: ${c.instructions.length} BPF instructions (${c.groups.map((g) => `${g.arches.join('+')}: tree depth ${g.depth}`).join(', ')}); ` +
          `verify: ${v.cases} cases, ${v.mismatches.length} mismatches against the reference semantics`,
      );
      out(
        'Next: sysfence explain <syscall>, sysfence validate <profile>, sysfence compile <profile>, sysfence verify <profile>',
      );
      setExit(EXIT_OK);
    });
}
