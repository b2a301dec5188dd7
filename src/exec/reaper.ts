/**
 * What sysfence starts or makes outside itself (helper processes and their trees, containers,
 * cgroups, FIFOs and temporary directories) is undone even when sysfence dies without a chance to
 * clean up (SIGKILL, an out-of-memory kill). A reaper, a small Perl process (perl-base is Essential
 * on Debian, as for the eBPF loader) in a session of its own (so a terminal's Ctrl-C to the job
 * does not reach it), holds the read end of a pipe whose write end only sysfence has. When sysfence
 * is gone the pipe closes, and the reaper reads the list of what is still to undo and undoes it:
 * process trees are killed first, then containers removed, then cgroups (their processes killed
 * through cgroup.kill) and files. sysfence keeps the list current (each resource is forgotten once
 * it has cleaned it up itself), and empties it when it exits normally: then the reaper does nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from './run.js';

const REAPER_PERL = String.raw`
use strict; use warnings;
$SIG{$_} = 'IGNORE' for qw(INT TERM HUP PIPE);
my ($list, $dir) = @ARGV;
my $buf; 1 while sysread(STDIN, $buf, 4096);   # until sysfence's end of the pipe closes
my @undo;
if (open(my $fh, '<', $list)) { @undo = map { chomp; [split / /, $_, 3] } <$fh>; close $fh }
sub kids { my ($p) = @_; my @k;
  opendir(my $d, '/proc') or return ();
  for my $e (readdir $d) { next unless $e =~ /^\d+$/;
    open(my $s, '<', "/proc/$e/stat") or next; my $st = <$s>; close $s; next unless defined $st;
    push @k, $e if $st =~ /\) \S (\d+)/ && $1 == $p }
  closedir $d; return map { (kids($_), $_) } @k }
for (@undo) { my ($k, $a) = @$_;
  if ($k eq 'tree') { kill 'STOP', $a; kill 'KILL', $_ for kids($a); kill 'KILL', $a } }
for (@undo) { my ($k, $a, $b) = @$_;
  if ($k eq 'container') { system($a, 'rm', '--force', $b) } }
for (@undo) { my ($k, $a) = @$_;
  next unless $k eq 'cgroup';
  if (open(my $c, '>', "$a/cgroup.kill")) { print $c "1"; close $c }
  for (1..50) { last if !-d $a || rmdir $a; select(undef, undef, undef, 0.1) } }
for (@undo) { my ($k, $a) = @$_;
  if ($k eq 'path') { system('rm', '-rf', '--', $a) } }
system('rm', '-rf', '--', $dir);
`;

type Kind = 'tree' | 'container' | 'cgroup' | 'path';

let reaper: { child: ChildProcess; list: string; dir: string } | undefined;
const pending = new Map<string, string>();

function save(): void {
  if (!reaper) return;
  const tmp = `${reaper.list}.new`;
  writeFileSync(tmp, [...pending.values()].map((l) => `${l}\n`).join(''), { mode: 0o600 });
  renameSync(tmp, reaper.list);
}

function start(): void {
  if (reaper) return;
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-reaper-'));
  const list = join(dir, 'undo');
  writeFileSync(list, '', { mode: 0o600 });
  const child = startProcess('perl', ['-e', REAPER_PERL, list, dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => {
    // no perl: nothing is undone after a SIGKILL (sysfence's own clean-up still runs)
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  reaper = { child, list, dir };
  // a normal exit: everything was cleaned up by sysfence itself; with its list gone, the reaper
  // has nothing to do (and nothing of it is left in the temporary directory when sysfence ends)
  process.once('exit', () => {
    pending.clear();
    rmSync(dir, { recursive: true, force: true });
    // and it need not wait for the pipe to close: it ends with sysfence
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

/**
 * Registers something to undo if sysfence dies; returns the function that forgets it (call it once
 * sysfence has undone it itself).
 */
export function undoOnDeath(kind: Kind, ...args: string[]): () => void {
  start();
  const line = [kind, ...args].join(' ');
  const key = `${line}#${pending.size}#${Date.now()}`;
  pending.set(key, line);
  try {
    save();
  } catch {
    // cannot write the list (the temporary directory is gone): sysfence's own clean-up remains
  }
  return () => {
    if (!pending.delete(key)) return;
    try {
      save();
    } catch {
      // nothing to update
    }
  };
}

/** Test and debugging aid: where the reaper's list is (undefined before anything was registered). */
export function reaperList(): string | undefined {
  return reaper?.list;
}
