#!/usr/bin/env node
// Measures what each container runtime itself calls after it has installed the container's
// seccomp filter and before the workload runs, and writes data/runtime-sets.json.
//
// How: the workload is a static binary that only calls exit_group. The container gets a profile
// whose default action is SCMP_ACT_LOG, so the kernel writes one SECCOMP audit record (kmsg) for
// every call made under the filter. Every record of the container's process except the
// workload's own exit_group is the runtime's (its execve of the workload included). Each runtime
// is run several times with no_new_privileges off and on (runc loads the filter at a different
// point for each), and the sets are united.
//
// Needs root, gcc, dmesg, and the runtimes (docker engine running, runc, crun). Clears the kernel
// ring buffer (dmesg -C) before each run. Usage: node scripts/measure-runtime-sets.mjs [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditReader, findArch, ociRunCommand, RecordingBuilder } from '../dist/index.js';

const root = join(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 5);
// --only NAME: measure that runtime alone and keep the others' measurements in the file
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'sysfence-measure-'));
const out = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

// the workload: exit_group(0) and nothing else
mkdirSync(join(dir, 'bundle', 'rootfs'), { recursive: true });
const exitOnly = join(root, 'test', 'fixtures', 'record', 'exit-only.c');
execFileSync('gcc', ['-O2', '-static', '-nostdlib', '-o', join(dir, 'bundle', 'rootfs', 'exit'), exitOnly]);
const logProfile = { defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'] };
writeFileSync(join(dir, 'log.json'), JSON.stringify(logProfile));
const ratelimit = readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8').trim();
writeFileSync('/proc/sys/kernel/printk_ratelimit', '0'); // every record reaches kmsg

function bundleConfig(nnp, uid) {
  rmSync(join(dir, 'bundle', 'config.json'), { force: true });
  execFileSync('runc', ['spec'], { cwd: join(dir, 'bundle') });
  const c = JSON.parse(readFileSync(join(dir, 'bundle', 'config.json'), 'utf8'));
  rmSync(join(dir, 'bundle', 'config.json'));
  c.process.args = ['/exit'];
  c.process.terminal = false;
  c.process.noNewPrivileges = nnp;
  c.process.user = { uid, gid: uid };
  c.root = { path: 'rootfs', readonly: true };
  c.linux.seccomp = logProfile;
  writeFileSync(join(dir, 'bundle', 'config.json'), JSON.stringify(c, null, 2));
}

/** The calls of the container's process under the filter, from kmsg, without the workload's. */
function runtimeCalls() {
  const b = new RecordingBuilder();
  const reader = new AuditReader(b, 'kmsg');
  for (const [i, l] of out('dmesg', []).split('\n').entries()) reader.line(l, i + 1);
  const rec = b.build();
  if (rec.malformed.count > 0) throw new Error(`kmsg lost records: ${JSON.stringify(rec.malformed.samples)}`);
  const calls = rec.syscalls.x86_64 ?? {};
  const exit = calls.exit_group;
  if (!exit) throw new Error('no exit_group record: the workload did not run under the LOG filter');
  const pid = exit.pids[0];
  return Object.entries(calls)
    .filter(
      ([name, s]) =>
        s.pids.includes(pid) && !(name === 'exit_group' && s.executables.every((e) => e === '/exit')),
    )
    .map(([name]) => name)
    .sort();
}

const runtimes = {
  docker: (nnp, uid) => {
    const args = ['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${join(dir, 'log.json')}`];
    if (nnp) args.push('--security-opt', 'no-new-privileges');
    args.push('--user', `${uid}:${uid}`);
    return ['docker', [...args, 'sysfence/exit:measure']];
  },
  runc: () => ociRunCommand('runc', join(dir, 'bundle'), `sysfence-measure-${process.pid}`),
  crun: () => ociRunCommand('crun', join(dir, 'bundle'), `sysfence-measure-${process.pid}`),
  // podman with the OCI runtime its containers.conf names (CONTAINERS_CONF: Debian's default is
  // crun; hosts whose cgroup v2 carries controllers in hybrid mode need runc)
  podman: (nnp, uid) => {
    const args = ['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${join(dir, 'log.json')}`];
    if (nnp) args.push('--security-opt', 'no-new-privileges');
    args.push('--user', `${uid}:${uid}`);
    return ['podman', [...args, 'localhost/sysfence-exit:measure']];
  },
};

const versions = {
  docker: () =>
    `docker engine ${out('docker', ['version', '--format', '{{.Server.Version}}'])}, ${out('runc', ['--version']).split('\n')[0]}`,
  runc: () => out('runc', ['--version']).split('\n')[0],
  crun: () => out('crun', ['--version']).split('\n')[0],
  podman: () => {
    const oci = out('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}']);
    return `podman ${out('podman', ['version', '--format', '{{.Client.Version}}'])} with ${out(oci, ['--version']).split('\n')[0]}`;
  },
};

const result = {};
try {
  execFileSync(
    'sh',
    [
      '-c',
      `tar -C ${join(dir, 'bundle', 'rootfs')} -c exit | docker import -c 'ENTRYPOINT ["/exit"]' - sysfence/exit:measure`,
    ],
    {
      stdio: 'ignore',
    },
  );
  if (!only || only === 'podman')
    execFileSync(
      'sh',
      [
        '-c',
        `tar -C ${join(dir, 'bundle', 'rootfs')} -c exit | podman import -c 'ENTRYPOINT ["/exit"]' - localhost/sysfence-exit:measure`,
      ],
      { stdio: 'ignore' },
    );
  for (const [name, command] of Object.entries(runtimes)) {
    if (only && name !== only) continue;
    const bySetting = {};
    // root and an unprivileged user (runc chowns the stdio to it after the filter is in place)
    for (const [nnp, uid] of [
      [false, 0],
      [true, 0],
      [false, 65534],
      [true, 65534],
    ]) {
      const setting = `no_new_privileges=${nnp} uid=${uid}`;
      bundleConfig(nnp, uid);
      const seen = new Set();
      for (let i = 0; i < runs; i++) {
        execFileSync('dmesg', ['-C']);
        const [cmd, args] = command(nnp, uid);
        const r = spawnSync(cmd, args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
        spawnSync('sleep', ['0.3']);
        for (const c of runtimeCalls()) seen.add(c);
      }
      bySetting[setting] = [...seen].sort();
      console.error(`${name} ${setting}: ${bySetting[setting].join(' ')}`);
    }
    result[name] = {
      measuredWith: versions[name](),
      bySetting,
      syscalls: [...new Set(Object.values(bySetting).flat())].sort(),
    };
  }
} finally {
  writeFileSync('/proc/sys/kernel/printk_ratelimit', ratelimit);
  spawnSync('docker', ['rmi', 'sysfence/exit:measure'], { stdio: 'ignore' });
  spawnSync('podman', ['rmi', 'localhost/sysfence-exit:measure'], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

const data = {
  description:
    'Syscalls each container runtime makes after installing the seccomp filter and before the workload runs (its execve included), measured by scripts/measure-runtime-sets.mjs',
  arch: findArch('x86_64').id,
  kernel: out('uname', ['-r']),
  runsPerSetting: runs,
  runtimes: only
    ? { ...JSON.parse(readFileSync(join(root, 'data', 'runtime-sets.json'), 'utf8')).runtimes, ...result }
    : result,
};
writeFileSync(join(root, 'data', 'runtime-sets.json'), `${JSON.stringify(data, null, 2)}\n`);
console.error('wrote data/runtime-sets.json');
