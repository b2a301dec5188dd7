/**
 * Static reach for generate and record: the programs a recording names, analysed in the file
 * system they ran from (this machine, a root directory, or a container image), turned into the
 * predicted calls generate adds (profile/generate.ts: PredictedCalls).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ArchId } from '../arch/types.js';
import { containerdImageFiles, imageFiles } from '../exec/image-files.js';
import type { FileSource } from '../exec/rootfs.js';
import { HostFiles } from '../exec/rootfs.js';
import type { PredictedAction, PredictedCalls } from '../profile/generate.js';
import { type FactsCache, newCache } from '../reach/cache.js';
import { type ProgramReach, reachProgram } from '../reach/program.js';
import { CONTAINERD, parseImageRoot } from '../recorders/container-engines.js';
import type { Recording } from '../recording/recording.js';
import { criEndpoint } from './engine-options.js';
import { CliError } from './errors.js';

export const PREDICTED_CHOICES = ['allow', 'log', 'deny'] as const;

/** Where module tables are kept between runs: $SYSFENCE_CACHE_DIR, $XDG_CACHE_HOME/sysfence, ~/.cache/sysfence. */
export function defaultCacheDir(): string | undefined {
  const env = process.env;
  if (env.SYSFENCE_CACHE_DIR) return join(env.SYSFENCE_CACHE_DIR, 'reach');
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'sysfence', 'reach');
  try {
    const home = env.HOME ?? homedir();
    return home ? join(home, '.cache', 'sysfence', 'reach') : undefined;
  } catch {
    return undefined;
  }
}

let shared: FactsCache | undefined;
export function reachCache(): FactsCache {
  shared ??= newCache(defaultCacheDir());
  return shared;
}

export function predictedOption(v: unknown): PredictedAction {
  const s = String(v ?? 'log');
  if (!(PREDICTED_CHOICES as readonly string[]).includes(s))
    throw new CliError('bad-option', `--predicted must be one of ${PREDICTED_CHOICES.join(', ')}, not ${s}`);
  return s as PredictedAction;
}

/** Every executable a recording names (the processes that made its calls, and its programs). */
export function recordedPrograms(recordings: readonly Recording[]): string[] {
  const out = new Set<string>();
  for (const r of recordings) {
    for (const p of r.programs ?? []) out.add(p.path);
    for (const calls of Object.values(r.syscalls))
      for (const s of Object.values(calls ?? {})) for (const e of s.executables) out.add(e);
  }
  return [...out].filter((p) => p.startsWith('/')).sort();
}

/**
 * Executables a recording names only by the relative name exec was given ("./tool") that no
 * program entry resolves (`RecordedProgram.ranAs`): where their files are is not known.
 */
export function relativePrograms(recordings: readonly Recording[]): string[] {
  const out = new Set<string>();
  for (const r of recordings) {
    const resolved = new Set((r.programs ?? []).flatMap((p) => (p.ranAs !== undefined ? [p.ranAs] : [])));
    for (const calls of Object.values(r.syscalls))
      for (const s of Object.values(calls ?? {}))
        for (const e of s.executables) if (!e.startsWith('/') && !resolved.has(e)) out.add(e);
  }
  return [...out].sort();
}

/**
 * The shared objects the recordings saw one program load (its own `programs[].loaded`, never
 * another program's: glibc's libc.so.6, loaded by the shell that started a static Go program or a
 * musl one, is no module of theirs), with `--root` the program's entries under any root.
 */
function recordedLoaded(
  recordings: readonly Recording[],
  program: string,
  root: string | undefined,
): string[] {
  const out = new Set<string>();
  for (const r of recordings)
    for (const p of r.programs ?? [])
      if (p.path === program && (root === undefined || p.root === root))
        for (const l of p.loaded ?? []) out.add(l);
  return [...out].sort();
}

/**
 * Where a recorded program's files are, as `RecordedProgram.root` says it: "host" (this machine),
 * "docker-image:ID" or "podman-image:ID" (a container image, read through the engine, never run),
 * or an absolute directory (an unpacked root file system).
 */
export { imageRoot } from '../recorders/container-engines.js';
export { HOST_ROOT } from '../recording/recording.js';

/** The files of a root: this machine, a directory, or an engine's image (`containerd`: its socket). */
async function filesOf(root: string, containerd: string): Promise<FileSource> {
  if (root === 'host') return new HostFiles('/');
  const image = parseImageRoot(root);
  if (image?.engine.id === CONTAINERD.id) return containerdImageFiles(containerd, image.image);
  if (image) return imageFiles(image.engine.cli, image.image);
  return new HostFiles(root);
}

/** Programs grouped by the file system they ran from; `root` (--root) overrides for every one. */
function programsByRoot(recordings: readonly Recording[], root: string | undefined): Map<string, string[]> {
  const by = new Map<string, Set<string>>();
  const add = (r: string, p: string) => {
    if (!p.startsWith('/')) return;
    const set = by.get(r) ?? new Set<string>();
    by.set(r, set);
    set.add(p);
  };
  if (root !== undefined) for (const p of recordedPrograms(recordings)) add(root, p);
  else for (const r of recordings) for (const p of r.programs ?? []) if (p.root) add(p.root, p.path);
  return new Map([...by].map(([k, v]) => [k, [...v].sort()]));
}

const MACHINE_ABI: Record<string, ArchId> = { x86_64: 'x86_64', aarch64: 'aarch64' };

/** The one line of a chain that says why: the program's first import, or where it starts. */
export function chainWhy(chain: readonly string[]): string {
  const imp = chain.find((c) => c.includes(' imports '));
  const wrapper = chain.find((c) => / calls \w+\(\d+\)$/.test(c));
  return [imp ?? chain[0] ?? 'reachable', ...(wrapper && wrapper !== imp ? [wrapper] : [])].join(', ');
}

export interface RecordingReach {
  predicted: PredictedCalls;
  reaches: ProgramReach[];
  /** Programs that could not be analysed, with why (the prediction is partial). */
  skipped: { program: string; why: string }[];
  /** Where the analysed programs were read, in words. */
  sources: string[];
  /** Executables the recording names without saying where their files are (not analysed). */
  unplaced: string[];
  /** Executables named only by a relative exec name no program entry resolves (not analysed). */
  relative: string[];
  /** Programs that can start other programs (execve reachable): what those run is not analysed. */
  spawners: string[];
}

/** Static reach of every program a recording names, each in the file system it ran from. */
export async function reachOfRecordings(
  recordings: readonly Recording[],
  action: PredictedAction,
  root?: string,
  containerd = criEndpoint(undefined),
): Promise<RecordingReach> {
  const groups = programsByRoot(recordings, root);
  const placed = new Set([...groups.values()].flat());
  const unplaced = recordedPrograms(recordings).filter((p) => !placed.has(p));
  const relative = relativePrograms(recordings);
  const reaches: ProgramReach[] = [];
  const skipped: RecordingReach['skipped'] = [];
  const sources: string[] = [];
  const byAbi = new Map<ArchId, Map<string, string>>();
  for (const [where, programs] of groups) {
    let fs: FileSource;
    try {
      fs = await filesOf(where, containerd);
    } catch (e) {
      for (const p of programs) skipped.push({ program: p, why: e instanceof Error ? e.message : String(e) });
      continue;
    }
    sources.push(fs.label);
    for (const p of programs) {
      try {
        const loaded = recordedLoaded(recordings, p, root === undefined ? where : undefined);
        const r = reachProgram(p, { fs, cache: reachCache(), loaded });
        reaches.push(r);
        if (r.missing.length > 0)
          skipped.push({
            program: p,
            why: `${r.missing.map((m) => m.library).join(', ')} not found in ${fs.label}`,
          });
        const abi = MACHINE_ABI[r.machine] as ArchId;
        const m = byAbi.get(abi) ?? new Map<string, string>();
        byAbi.set(abi, m);
        for (const c of r.calls) if (!m.has(c.name)) m.set(c.name, chainWhy(c.chain));
      } catch (e) {
        skipped.push({ program: p, why: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  // complete: every program analysed, every site's number known, and no program able to start
  // another. A site whose number is unknown could make any call, and a program that can exec may
  // run one no recording saw (tar runs xz for -J, a shell anything): call families are sharpened
  // only when none of these holds (fail closed)
  const spawners = reaches
    .filter((r) => r.calls.some((c) => c.name === 'execve' || c.name === 'execveat'))
    .map((r) => r.program);
  const complete =
    reaches.length > 0 &&
    skipped.length === 0 &&
    unplaced.length === 0 &&
    relative.length === 0 &&
    spawners.length === 0 &&
    reaches.every((r) => r.unresolved.length === 0);
  return {
    predicted: { byAbi, action, complete },
    reaches,
    skipped,
    sources,
    unplaced,
    relative,
    spawners,
  };
}

/**
 * The predicted calls for generate (undefined with --no-reach, or when no program can be read),
 * said on stderr: which programs were analysed where, and which could not be (the prediction then
 * covers only the others, and call families stay as wide as without it). An imported log does not
 * say where its executables' files are: they are read only when --root names the file system (/
 * for this machine), never guessed to be this machine's.
 */
export async function predictionFor(
  recordings: readonly Recording[],
  opts: Record<string, unknown>,
  say: (line: string) => void,
): Promise<PredictedCalls | undefined> {
  // --exact: only what was recorded (no family, no prediction)
  if (opts.reach === false || opts.exact === true) return undefined;
  const r = await reachOfRecordings(
    recordings,
    predictedOption(opts.predicted),
    opts.root as string | undefined,
    criEndpoint(opts.criEndpoint),
  );
  if (r.reaches.length === 0 && r.skipped.length === 0) {
    say(
      r.unplaced.length > 0
        ? `static reach: the recording does not say where ${r.unplaced.length === 1 ? `${r.unplaced[0]} is` : `its ${r.unplaced.length} programs are`} (an imported log): the profile is from the recording only; give --root / (this machine) or --root DIR (an unpacked image) to add what their code can call`
        : r.relative.length > 0
          ? `static reach: ${r.relative.join(', ')} ran by a relative name in a directory the recording does not know: the profile is from the recording only`
          : 'static reach: the recording names no program: the profile is from the recording only',
    );
    return undefined;
  }
  const n = [...r.predicted.byAbi.values()].reduce((a, m) => a + m.size, 0);
  say(
    `static reach: ${r.reaches.map((x) => x.program).join(', ') || 'no program'} in ${r.sources.join(', ')}: ${n} calls reachable`,
  );
  for (const s of r.skipped)
    say(
      `warning[reach-partial] ${s.program}: ${s.why}: its calls are not predicted (and call-family siblings are kept)`,
    );
  if (r.unplaced.length > 0)
    say(
      `warning[reach-partial] ${r.unplaced.join(', ')}: the recording does not say where these are: not analysed (give --root)`,
    );
  if (r.relative.length > 0)
    say(
      `warning[reach-partial] ${r.relative.join(', ')}: exec'd by a relative name in a directory the recording does not know: not analysed (sysfence record resolves such names against the directory the command started in)`,
    );
  if (r.spawners.length > 0)
    say(
      `static reach: call-family siblings are kept whole: ${r.spawners.join(', ')} can start other programs (execve), whose calls no analysis here covers`,
    );
  if (r.reaches.length === 0) return undefined;
  return r.predicted;
}

export const hostFiles = (root?: string): FileSource => new HostFiles(root ?? '/');
