/**
 * The loader that puts sysfence's own eBPF programs into the kernel with no compiler and no native
 * addon: a short Perl program (perl-base is Essential on Debian and in nearly every Linux base
 * image) that makes the bpf(2), perf_event_open(2) and ioctl(2) calls itself through Perl's
 * `syscall`. It is the holder of every descriptor: the programs stay attached while it runs and
 * are detached by the kernel when it ends, whatever ends it (its parent dies: PR_SET_PDEATHSIG;
 * its stdin closes; `quit`).
 *
 * Protocol (lines on stdin, answers on stdout):
 *   sys BPF PERF_EVENT_OPEN IOCTL PRCTL CLOSE   the syscall numbers here (from sysfence's tables)
 *   map TYPE KEY_SIZE VALUE_SIZE MAX_ENTRIES FLAGS NAME
 *   prog TYPE ATTACH NAME HEX_CODE [INSN=MAP ...]   ATTACH: tp:ID (a tracepoint, through perf) or
 *                                               raw:NAME (a raw tracepoint); INSN=MAP: the 64-bit
 *                                               loads to point at a map
 *   go                                       -> "ready" once every program is attached, or "error ..."
 *   detach                                   -> "detached": the programs are off, the maps still readable
 *   dump MAP                                 -> "e HEX_KEY HEX_VALUE" lines (per-CPU: every CPU's value
 *                                               in a row), then "end"; arrays: only non-zero entries
 *   get MAP HEX_KEY...                       -> "e HEX_KEY HEX_VALUE" for each key the map holds, then "end"
 *   quit                                     -> close everything and exit
 */
export const LOADER_PERL = String.raw`
use strict; use warnings;
$| = 1;
my ($SYS_BPF, $SYS_PERF, $SYS_IOCTL, $SYS_PRCTL, $SYS_CLOSE);
my (@maps, @progs, @fds);
sub fail { print "error $_[0]\n"; exit 1; }
sub ptr { return unpack('J', pack('p', $_[0])); }
sub bpf { my ($cmd, $attr) = @_; my $r = syscall(0 + $SYS_BPF, 0 + $cmd, $attr, length($attr)); return $r; }
sub ncpus {
  open(my $f, '<', '/sys/devices/system/cpu/possible') or return 1;
  my $s = <$f>; close $f; chomp $s; my $n = 0;
  for my $part (split /,/, $s) { if ($part =~ /^(\d+)-(\d+)$/) { $n = $2 + 1 if $2 + 1 > $n } elsif ($part =~ /^(\d+)$/) { $n = $1 + 1 if $1 + 1 > $n } }
  return $n || 1;
}
my $NCPU = ncpus();
sub go {
  syscall(0 + $SYS_PRCTL, 1, 9, 0, 0, 0); # PR_SET_PDEATHSIG, SIGKILL: dies with sysfence
  for my $m (@maps) {
    my $attr = pack('L7 Z16', $m->{type}, $m->{key}, $m->{value}, $m->{max}, $m->{flags}, 0, 0, substr($m->{name}, 0, 15)) . ("\0" x 64);
    my $fd = bpf(0, $attr);
    fail("map $m->{name}: bpf(BPF_MAP_CREATE): $!") if $fd < 0;
    $m->{fd} = $fd;
  }
  for my $p (@progs) {
    my $code = pack('H*', $p->{hex});
    for my $r (@{$p->{relocs}}) {
      my ($insn, $map) = @$r;
      my $m = $maps[$map] or fail("program $p->{name}: no map $map");
      substr($code, $insn * 8 + 1, 1) = chr((ord(substr($code, $insn * 8 + 1, 1)) & 0x0f) | (1 << 4)); # src = BPF_PSEUDO_MAP_FD
      substr($code, $insn * 8 + 4, 4) = pack('l<', $m->{fd});
    }
    my $license = "GPL\0";
    my $log = "\0" x (1 << 20);
    my $attr = pack('L L Q Q L L Q L L Z16', $p->{type}, length($code) / 8, ptr($code), ptr($license), 1, length($log), ptr($log), 0, 0, substr($p->{name}, 0, 15)) . ("\0" x 64);
    my $fd = bpf(5, $attr);
    if ($fd < 0) { my $err = "$!"; $log =~ s/\0.*//s; $log =~ s/\n/ | /g; fail("program $p->{name}: bpf(BPF_PROG_LOAD): $err: " . substr($log, -3000)); }
    $p->{fd} = $fd;
    if ($p->{attach} =~ /^raw:(\w+)$/) {
      my $name = "$1\0";
      my $afd = bpf(17, pack('Q L L', ptr($name), $fd, 0)); # BPF_RAW_TRACEPOINT_OPEN
      fail("program $p->{name}: bpf(BPF_RAW_TRACEPOINT_OPEN, $1): $!") if $afd < 0;
      push @fds, $afd;
    } elsif ($p->{attach} =~ /^tp:(\d+)$/) {
      # perf_event_attr: type PERF_TYPE_TRACEPOINT, size, config = the tracepoint's id
      my $pattr = pack('L L Q', 2, 128, $1) . ("\0" x 112);
      my $pfd = syscall(0 + $SYS_PERF, $pattr, -1, 0, -1, 8); # pid -1, cpu 0, no group, PERF_FLAG_FD_CLOEXEC
      fail("program $p->{name}: perf_event_open(tracepoint $1): $!") if $pfd < 0;
      syscall(0 + $SYS_IOCTL, 0 + $pfd, 0x40042408, 0 + $fd) == 0 or fail("program $p->{name}: PERF_EVENT_IOC_SET_BPF: $!");
      syscall(0 + $SYS_IOCTL, 0 + $pfd, 0x2400, 0) == 0 or fail("program $p->{name}: PERF_EVENT_IOC_ENABLE: $!");
      push @fds, $pfd;
    } else { fail("program $p->{name}: cannot attach to $p->{attach}"); }
  }
  print "ready\n";
}
sub dump_map {
  my $m = $maps[$_[0]] or fail("dump: no map $_[0]");
  my $percpu = ($m->{type} == 5 || $m->{type} == 6);
  my $vsize = $percpu ? (($m->{value} + 7) & ~7) * $NCPU : $m->{value};
  my $isarray = ($m->{type} == 2 || $m->{type} == 6);
  my $val = "\0" x $vsize;
  my $out = '';
  if ($isarray) {
    for my $i (0 .. $m->{max} - 1) {
      my $key = pack('L', $i);
      next if bpf(1, pack('L L Q Q Q', $m->{fd}, 0, ptr($key), ptr($val), 0)) < 0;
      next if $val =~ /^\0*$/;
      $out .= 'e ' . unpack('H*', $key) . ' ' . unpack('H*', $val) . "\n";
    }
  } else {
    my $key = "\0" x $m->{key}; my $next = "\0" x $m->{key};
    my $have = 0;
    while (bpf(4, pack('L L Q Q', $m->{fd}, 0, $have ? ptr($key) : 0, ptr($next))) == 0) {
      substr($key, 0) = $next; $have = 1;
      next if bpf(1, pack('L L Q Q Q', $m->{fd}, 0, ptr($key), ptr($val), 0)) < 0;
      $out .= 'e ' . unpack('H*', $key) . ' ' . unpack('H*', $val) . "\n";
    }
  }
  print $out, "end\n";
}
sub get_keys {
  my ($idx, @keys) = @_;
  my $m = $maps[$idx] or fail("get: no map $idx");
  my $percpu = ($m->{type} == 5 || $m->{type} == 6);
  my $val = "\0" x ($percpu ? (($m->{value} + 7) & ~7) * $NCPU : $m->{value});
  my $out = '';
  for my $hex (@keys) {
    my $key = pack('H*', $hex);
    next if bpf(1, pack('L L Q Q Q', $m->{fd}, 0, ptr($key), ptr($val), 0)) < 0;
    $out .= "e $hex " . unpack('H*', $val) . "\n";
  }
  print $out, "end\n";
}
while (my $line = <STDIN>) {
  chomp $line;
  my @w = split / /, $line;
  next unless @w;
  if ($w[0] eq 'sys') { ($SYS_BPF, $SYS_PERF, $SYS_IOCTL, $SYS_PRCTL, $SYS_CLOSE) = @w[1 .. 5]; }
  elsif ($w[0] eq 'map') { push @maps, { type => $w[1], key => $w[2], value => $w[3], max => $w[4], flags => $w[5], name => $w[6] }; }
  elsif ($w[0] eq 'prog') { push @progs, { type => $w[1], attach => $w[2], name => $w[3], hex => $w[4], relocs => [map { [split /=/] } @w[5 .. $#w]] }; }
  elsif ($w[0] eq 'detach') {
    # closing the attachments detaches the programs; the kernel waits for running ones to finish
    for my $fd (@fds) { syscall(0 + $SYS_CLOSE, 0 + $fd); }
    for my $p (@progs) { syscall(0 + $SYS_CLOSE, 0 + $p->{fd}) if defined $p->{fd}; }
    @fds = (); print "detached\n";
  }
  elsif ($w[0] eq 'go') { go(); }
  elsif ($w[0] eq 'dump') { dump_map($w[1]); }
  elsif ($w[0] eq 'get') { get_keys(@w[1 .. $#w]); }
  elsif ($w[0] eq 'quit') { last; }
  else { fail("unknown command $w[0]"); }
}
exit 0;
`;
