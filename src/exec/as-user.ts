/**
 * `sudo sysfence record -- ./app`: sysfence needs root (eBPF, cgroups, ptrace of setuid programs),
 * the workload does not. Run as root it would behave otherwise than it does for its user (other
 * files readable, other paths taken: setuid, chown, capabilities), and what it creates would
 * belong to root. So under sudo the workload runs as the user who ran sudo (SUDO_UID, SUDO_GID,
 * that user's groups, HOME, USER, LOGNAME), unless `--as-root` says otherwise, and the files
 * sysfence writes are given to that user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync } from 'node:fs';

export interface WorkloadUser {
  uid: number;
  gid: number;
  name: string;
  /** Supplementary groups (`id -G`); empty when the user has no entry in the group database. */
  groups: number[];
  home?: string;
  shell?: string;
}

let cached: WorkloadUser | null | undefined;

/** The user who ran `sudo sysfence`, when sysfence runs as root through sudo (never root itself). */
export function sudoUser(): WorkloadUser | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (process.getuid?.() !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0)
    return undefined;
  if (process.env.SUDO_UID === undefined || process.env.SUDO_GID === undefined) return undefined;
  const name = process.env.SUDO_USER ?? String(uid);
  const user: WorkloadUser = { uid, gid, name, groups: [] };
  const ids = spawnSync('id', ['-G', String(uid)], { encoding: 'utf8' });
  if (ids.status === 0)
    user.groups = ids.stdout
      .trim()
      .split(/\s+/)
      .map(Number)
      .filter((g) => Number.isInteger(g));
  const pw = spawnSync('getent', ['passwd', String(uid)], { encoding: 'utf8' });
  if (pw.status === 0) {
    const f = pw.stdout.trim().split(':');
    if (f[5]) user.home = f[5];
    if (f[6]) user.shell = f[6];
  }
  cached = user;
  return user;
}

/** The user the workload runs as: the sudo user unless `asRoot`; said once through `note`. */
export function workloadUser(asRoot: boolean, note?: (m: string) => void): WorkloadUser | undefined {
  const u = sudoUser();
  if (!u || asRoot) return undefined;
  note?.(
    `running the workload as ${u.name} (uid ${u.uid}, gid ${u.gid}), who ran sudo; --as-root runs it as root`,
  );
  return u;
}

/** The environment of a workload run as `u`: the caller's, with that user's identity. */
export function userEnv(
  u: WorkloadUser | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  if (!u) return env;
  const out: NodeJS.ProcessEnv = { ...env, USER: u.name, LOGNAME: u.name };
  if (u.home) out.HOME = u.home;
  if (u.shell) out.SHELL = u.shell;
  for (const k of ['SUDO_UID', 'SUDO_GID', 'SUDO_USER', 'SUDO_COMMAND']) delete out[k];
  return out;
}

/**
 * The command that becomes `u` and runs `command` (setpriv from util-linux: real and effective ids,
 * the user's groups, nothing else changed). Its own calls happen before the recorded workload starts.
 */
export function asUserPrefix(u: WorkloadUser): string[] {
  return [
    'setpriv',
    `--reuid=${u.uid}`,
    `--regid=${u.gid}`,
    u.groups.length > 0 ? `--groups=${u.groups.join(',')}` : '--clear-groups',
    '--',
  ];
}

/** A file sysfence created, given to the user who ran sudo (nothing when not under sudo). */
export function giveToSudoUser(path: string): void {
  const u = sudoUser();
  if (!u) return;
  try {
    chownSync(path, u.uid, u.gid);
  } catch {
    // a file system without owners (vfat) or not ours to give: it stays as it is
  }
}
