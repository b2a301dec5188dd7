/** The demo's run: record the demo server, run it under its profile, show the fence holding. */

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchDef } from '../../arch/types.js';
import { encode } from '../../bpf/encode.js';
import { compile } from '../../compiler/compile.js';
import { verifyProgram } from '../../compiler/verify.js';
import type { WorkloadUser } from '../../exec/as-user.js';
import { writeOutput } from '../../exec/files.js';
import { packageRoot } from '../../knowledge/data-files.js';
import { explainProfile } from '../../profile/explain.js';
import { generate } from '../../profile/generate.js';
import type { Profile } from '../../profile/model.js';
import { referenceProfile } from '../../profile/reference-profiles.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { record } from '../../recorders/record.js';
import { exitStatus, type WorkloadExit } from '../../recorders/workload.js';
import { type Recording, serializeRecording } from '../../recording/recording.js';
import { runUnderFilter } from '../../runners/enforce.js';
import { auditProfile } from '../audit-log.js';
import { EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { err, out, style } from '../output.js';
import { requireWithinDefault } from '../within-default.js';

/** The built-in workload: a small HTTP server on Node.js that answers its own six requests. */
export const DEMO_WORKLOAD = join(packageRoot(), 'demo', 'http-server.mjs');

interface Served {
  served: { path: string; status: number; bytes: number }[];
  failed: string | null;
}

export async function demo(
  arch: ArchDef,
  dir: string,
  scratch: string,
  backend: 'auto' | 'ebpf' | 'strace',
  setExit: (code: number) => void,
  user: WorkloadUser | undefined,
): Promise<void> {
  const command = [process.execPath, DEMO_WORKLOAD];
  out(style.bold('sysfence demo: record a small HTTP server, fence it, run it again'));

  const servedFile = join(scratch, 'served.json');
  const r = await record({
    backend,
    arch,
    command: [...command, servedFile],
    note: (m) => err(`sysfence: ${m}`),
  });
  const calls = r.recording.syscalls[arch.id] ?? {};
  const total = Object.values(calls).reduce((n, s) => n + s.count, 0);
  writeOutput(join(dir, 'http-server.rec.json'), serializeRecording(r.recording));
  out(
    `1. record (${r.backend === 'ebpf' ? `eBPF, ${r.ebpf?.engine === 'bpftrace' ? 'bpftrace' : "sysfence's program"}` : 'ptrace, strace'}) node demo/http-server.mjs: ` +
      `${describe(readServed(servedFile), r.exit)}; ${Object.keys(calls).length} distinct syscalls, ${total} calls on ${arch.id}`,
  );

  const profile = generateStep(r.recording, arch, dir);

  const c = compile(profile, { nativeArch: arch.id });
  const v = verifyProgram(profile, c.instructions, { nativeArch: arch.id });
  out(
    `3. compile: ${c.instructions.length} BPF instructions; verify: ${v.cases} cases, ${v.mismatches.length} mismatches against the reference semantics`,
  );

  const runWith = async (p: Profile, file: string) => {
    rmSync(file, { force: true });
    const bpf = encode(compile(p, { nativeArch: arch.id }).instructions);
    const exit = await runUnderFilter({
      filter: bpf,
      command: [...command, file],
      ...(user ? { user } : {}),
    });
    return { exit, served: readServed(file) };
  };
  const fenced = await runWith(profile, join(scratch, 'served-fenced.json'));
  out(`4. run under the profile (bubblewrap --seccomp): ${describe(fenced.served, fenced.exit)}`);

  const without: Profile = {
    ...profile,
    syscalls: (profile.syscalls ?? []).map((s) => ({
      ...s,
      names: (s.names ?? []).filter((n) => n !== 'socket'),
    })),
  };
  const broken = await runWith(without, join(scratch, 'served-without-socket.json'));
  const holds = broken.served.failed !== null || exitStatus(broken.exit) !== 0;
  out(`5. the fence holds: the same profile without socket: ${describe(broken.served, broken.exit)}`);
  out(
    'Next: sysfence record -o app.json -- YOUR COMMAND; sysfence explain app.json; sysfence verify app.json',
  );
  const ok =
    exitStatus(r.exit) === 0 &&
    v.mismatches.length === 0 &&
    exitStatus(fenced.exit) === 0 &&
    fenced.served.failed === null &&
    holds;
  if (!ok) err(style.red('the demo did not go as it should: see the lines above'));
  setExit(ok ? EXIT_OK : EXIT_FINDINGS);
}

export function readServed(file: string): Served {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Served;
  } catch {
    return { served: [], failed: 'it wrote no report' };
  }
}

export function describe(s: Served, exit: WorkloadExit): string {
  const byStatus = new Map<number, number>();
  for (const r of s.served) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  const statuses = [...byStatus].map(([status, n]) => `${n} x ${status}`).join(', ');
  const what = s.failed ? `it failed: ${s.failed}` : `it served ${s.served.length} requests (${statuses})`;
  return `${what}, exit ${exitStatus(exit)}`;
}

/** Step 2: the profile from the recording, held to Docker's default, written and reported. */
function generateStep(recording: Recording, arch: ArchDef, dir: string): Profile {
  const g = generate([recording], {});
  const profile = g.profile;
  // distinct names (clone, socket and personality are allowed by several argument rules)
  const allowed = [
    ...new Set(
      (profile.syscalls ?? []).filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names ?? []),
    ),
  ];
  const dockerAllowed = explainProfile(referenceProfile('docker-default'), { arches: [arch.id] })[0]?.allowed;
  requireWithinDefault(profile, [], 'the demo profile');
  const text = serializeDocker(profile);
  writeOutput(join(dir, 'http-server.json'), text);
  auditProfile({
    what: 'generated',
    exempt: [],
    format: 'docker',
    text,
    output: join(dir, 'http-server.json'),
  });
  out(
    `2. generate: allow ${allowed.length} syscalls (Docker's default allows ${dockerAllowed} on ${arch.id}; ` +
      `${g.implied.map((i) => i.name).join(', ') || 'nothing'} added because they follow from the recording), ` +
      `everything else gets ERRNO(ENOSYS)${g.enosys.length ? ` (${g.enosys.length} calls libraries probe, such as ${g.enosys.slice(0, 2).join(' and ')}, by an explicit rule)` : ''}; ${join(dir, 'http-server.json')}`,
  );
  return profile;
}
