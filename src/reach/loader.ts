/**
 * The modules of a program as the loader finds them: the program, its DT_NEEDED closure in the
 * loader's breadth-first order (RUNPATH, ld.so.conf, musl's path file), the loader, and what is
 * loaded at run time that a recording names or that static reach can name itself (nsswitch.conf's
 * NSS modules, shared objects a dlopen-importing module names in its strings).
 */
import { SysfenceError } from '../errors.js';
import type { ModuleFile } from './cache.js';
import { keyOf, linkFor } from './cache.js';
import { defaultDirs, findLibrary, isMusl, moduleFile } from './libraries.js';
import type { LinkFacts } from './link.js';
import type { ProgramReach, ReachOptions } from './program.js';

/** A module as the loader places it: known from its headers (LinkFacts), its code not yet read. */
export interface Linked {
  index: number;
  loadedBecause?: string;
  path: string;
  label: string;
  file: ModuleFile;
  /** Its cache key (build-id or content hash). */
  key: string;
  link: LinkFacts;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const isElf = (b: Uint8Array) => b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

export interface LinkedProgram {
  mods: Linked[];
  missing: ProgramReach['missing'];
  /** Modules loaded at run time (a recording or static reach names them): analysed as roots. */
  loaded: Linked[];
}

/** Places the program and its libraries in the loader's order (breadth first), the loader last. */
export function linkModules(program: string, opts: ReachOptions): LinkedProgram {
  const mods: Linked[] = [];
  const missing: ProgramReach['missing'] = [];
  const byPath = new Map<string, Linked>();
  const add = (file: ModuleFile): Linked => {
    const path = file.path;
    const had = byPath.get(path);
    if (had) return had;
    const m: Linked = {
      index: mods.length,
      path,
      label: path,
      file,
      key: keyOf(file),
      link: linkFor(opts.cache, file),
    };
    mods.push(m);
    byPath.set(path, m);
    return m;
  };
  const path = opts.fs.resolve(program);
  const file = path !== undefined ? moduleFile(opts.fs, path) : undefined;
  if (path === undefined || file === undefined)
    throw new ReachError('reach-no-program', `${program} is not a file in ${opts.fs.label}`, program);
  if (!isElf(file.head))
    throw new ReachError(
      'reach-not-elf',
      `${program} is not an ELF program (a script? reach its interpreter)`,
      program,
      'give the program that runs it (e.g. /bin/sh, /usr/bin/python3)',
    );
  const exe = add(file);
  const machine = exe.link.machine;
  const interp = exe.link.interp;
  const dirs = defaultDirs(opts.fs, machine, interp);
  const interpPath = interp !== undefined ? opts.fs.resolve(interp) : undefined;
  const interpFile = interpPath !== undefined ? moduleFile(opts.fs, interpPath) : undefined;
  if (interp !== undefined && (interpPath === undefined || !interpFile))
    missing.push({ library: interp, neededBy: path });
  const closeOver = (from: number): void => {
    // breadth first, as the loader builds its global scope
    for (let i = from; i < mods.length; i++) {
      const m = mods[i] as Linked;
      for (const name of m.link.needed) {
        if (isMusl(interp) && (name === 'libc.so' || /^libc\.musl-/.test(name)) && interpFile) {
          add(interpFile);
          continue;
        }
        const found = findLibrary(opts.fs, name, m.path, m.link.runpath, dirs, machine);
        if (found) add(found);
        else missing.push({ library: name, neededBy: m.path });
      }
    }
  };
  closeOver(0);
  if (interpFile) add(interpFile);
  const before = mods.length;
  const loaded: Linked[] = [];
  // a static program (no loader) maps no shared object: what a recording says its process opened
  // belongs to the program that process ran before its exec (a shell's libc)
  for (const extra of interp !== undefined ? (opts.loaded ?? []) : []) {
    const p = opts.fs.resolve(extra);
    const f = p !== undefined ? moduleFile(opts.fs, p) : undefined;
    if (p === undefined || !f || !isElf(f.head)) {
      missing.push({
        library: extra,
        neededBy: `the recording (loaded at run time${f && !isElf(f.head) ? '; not an ELF file' : ''})`,
      });
      continue;
    }
    const n = mods.length;
    const m = add(f);
    if (m.index >= before && !loaded.includes(m)) loaded.push(m);
    closeOver(n);
    for (let i = n + 1; i < mods.length; i++)
      (mods[i] as Linked).loadedBecause = `needed by ${basename(p)}, loaded at run time`;
  }
  // what may be loaded at run time though no recording named it, added as loaded (sound, wider):
  // the NSS modules nsswitch.conf names, when a module imports an NSS function; and the shared
  // objects a module that imports dlopen names in its own strings ("libnuma.so.1")
  const why = new Map<Linked, string>();
  const addLoaded = (found: ModuleFile | undefined, reason: string) => {
    if (!found || byPath.has(found.path)) return;
    const n = mods.length;
    const m = add(found);
    loaded.push(m);
    why.set(m, reason);
    closeOver(n);
    for (let i = n + 1; i < mods.length; i++)
      why.set(mods[i] as Linked, `needed by ${basename(found.path)}, loaded at run time`);
  };
  if (mods.some((m) => m.link.imports.some((i) => NSS.test(i)))) {
    for (const service of nssServices(opts.fs)) {
      const lib = `libnss_${service}.so.2`;
      addLoaded(findLibrary(opts.fs, lib, path, [], dirs, machine), `nsswitch.conf names ${service}`);
    }
  }
  for (let i = 0; i < mods.length; i++) {
    const m = mods[i] as Linked;
    for (const lib of m.link.libraryNames ?? [])
      addLoaded(
        lib.startsWith('/')
          ? (() => {
              const p = opts.fs.resolve(lib);
              const f = p !== undefined ? moduleFile(opts.fs, p) : undefined;
              return f && isElf(f.head) ? f : undefined;
            })()
          : findLibrary(opts.fs, lib, m.path, m.link.runpath, dirs, machine),
        `${m.link.soname ?? basename(m.path)} imports dlopen and names ${lib}`,
      );
  }
  for (const m of mods) m.label = m.link.soname ?? basename(m.path);
  for (const [m, reason] of why) {
    if (loaded.includes(m)) m.label = `${m.label} (${reason})`;
    m.loadedBecause = reason;
  }
  for (const m of loaded) m.loadedBecause ??= 'the recording names it (loaded at run time)';
  exe.label = path;
  return { mods, missing, loaded };
}

export class ReachError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'ReachError';
  }
}

/** The services nsswitch.conf names (files, dns, systemd, ...), each once, in order. */
function nssServices(fs: ReachOptions['fs']): string[] {
  const conf = fs.read('/etc/nsswitch.conf');
  if (!conf) return [];
  const out = new Set<string>();
  for (const line of Buffer.from(conf).toString('utf8').split('\n')) {
    const m = /^\s*\w+\s*:\s*([^#]*)/.exec(line);
    if (!m) continue;
    for (const w of (m[1] as string).split(/\s+/)) if (/^[a-z][\w-]*$/.test(w)) out.add(w);
  }
  return [...out];
}

/** Imports that make glibc load NSS modules (nsswitch.conf) at run time. */
export const NSS =
  /^(getpw|getgr|getsp|getaddrinfo$|gethostby|getservby|getprotoby|getnetby|initgroups$|getgrouplist$|getnameinfo$|getlogin|cuserid$|getrpcby|getaliasby|ether_|innetgr$|setpwent$|setgrent$)/;
