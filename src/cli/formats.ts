/**
 * Every output format sysfence writes, in two tables: profiles (generate, record, convert) and
 * check reports. A command lists its formats from here (commander choices and help come from the
 * table), and writes through `writeProfile` / `REPORT_FORMATS[..].render`; adding a format is one
 * row here and nothing in the commands.
 */
import { Option } from 'commander';
import { findArch } from '../arch/tables.js';
import { encode } from '../bpf/encode.js';
import { compile } from '../compiler/compile.js';
import { writeOutput } from '../exec/files.js';
import { k8sPatch } from '../profile/k8s.js';
import type { Profile } from '../profile/model.js';
import { ProfileError } from '../profile/profile-error.js';
import { type ResolveOptions, resolve } from '../profile/resolve.js';
import { serializeDocker } from '../profile/serialize-docker.js';
import { SPO_DEFAULT_VERSION, SPO_VERSIONS, type SpoVersion, serializeSpo } from '../profile/spo.js';
import type { Recording } from '../recording/recording.js';
import { type CheckResult, formatCheckJunit, formatCheckSarif, formatCheckText } from '../review/check.js';
import { VERSION } from '../version.js';
import { auditProfile } from './audit-log.js';
import { CliError } from './errors.js';
import { exactForRuntimes } from './exact.js';
import { err, formatIssue, toJsonText } from './output.js';

/** What a profile format needs besides the profile. */
export interface ProfileRenderContext {
  /** metadata.name (SPO). */
  readonly name: string;
  readonly namespace?: string;
  /** Where the text goes (undefined: stdout); named in the problems said on stderr. */
  readonly output: string | undefined;
  /** How a profile with an archMap or capability conditions is resolved for one host. */
  readonly resolveOptions: ResolveOptions;
  /** The SeccompProfile version written (SPO_DEFAULT_VERSION unless said). */
  readonly spoVersion?: SpoVersion;
}

export interface ProfileFormat {
  readonly id: string;
  readonly help: string;
  /**
   * The profile is rewritten first so runc's and crun's libseccomp enforce exactly what it says
   * (everything a container runtime reads; not sysfence's own BPF, which is compiled exactly).
   */
  readonly forRuntimes: boolean;
  render(profile: Profile, ctx: ProfileRenderContext): string | Uint8Array;
  /** A second file written next to -o (the format needs -o). */
  readonly companion?: (output: string) => { file: string; text: string; what: string };
}

/** Resolved for one host only when something in it depends on the host (archMap, includes). */
function resolvedIfNeeded(p: Profile, ro: ResolveOptions): Profile {
  return p.archMap || (p.syscalls ?? []).some((s) => s.includes || s.excludes) ? resolve(p, ro) : p;
}

export const PROFILE_FORMATS = [
  {
    id: 'docker',
    help: "Docker's seccomp JSON, kept whole: archMap, includes/excludes, comments",
    forRuntimes: true,
    render: (p) => serializeDocker(p),
  },
  {
    id: 'oci',
    help: 'the OCI JSON the runtime receives, resolved for one host by --arch, --capabilities, --kernel',
    forRuntimes: true,
    render: (p, ctx) => serializeDocker(resolve(p, ctx.resolveOptions)),
  },
  {
    id: 'spo',
    help: 'a Security Profiles Operator SeccompProfile in YAML',
    forRuntimes: true,
    render: (p, ctx) => {
      const s = serializeSpo([
        {
          name: ctx.name,
          ...(ctx.spoVersion ? { apiVersion: ctx.spoVersion } : {}),
          profile: resolvedIfNeeded(p, ctx.resolveOptions),
          ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
        },
      ]);
      for (const i of s.issues) err(formatIssue(ctx.output ?? '<output>', i, process.stderr));
      if (s.issues.some((i) => i.severity === 'error'))
        throw new CliError(
          'spo-cannot-express',
          'the profile cannot be written as a SeccompProfile without changing what it does',
        );
      return s.text;
    },
  },
  {
    id: 'k8s',
    help: 'a Kubernetes Localhost profile file and, next to it, the pod-template patch',
    forRuntimes: true,
    render: (p) => serializeDocker(p),
    companion: (output) => {
      const file = `${output.replace(/\.json$/, '')}.k8s.yaml`;
      return {
        file,
        text: k8sPatch(output),
        what: `the pod-template patch that points a workload at ${output}`,
      };
    },
  },
  {
    id: 'bpf',
    help: "raw classic BPF for the host's ABI, from sysfence's compiler, as seccomp(2) and bwrap --seccomp load it",
    forRuntimes: false,
    render: (p, ctx) => {
      if (!ctx.output && process.stdout.isTTY)
        throw new CliError('binary-to-terminal', 'raw BPF is binary: use -o FILE');
      const a = ctx.resolveOptions.arch ?? 'x86_64';
      const native = typeof a === 'object' ? a : findArch(a);
      if (!native) throw new CliError('unknown-arch', `unknown architecture "${a}"`);
      const resolved = resolvedIfNeeded(p, { ...ctx.resolveOptions, arch: native });
      return encode(compile(resolved, { nativeArch: native.id }).instructions);
    },
  },
] as const satisfies readonly ProfileFormat[];

export type ProfileFormatId = (typeof PROFILE_FORMATS)[number]['id'];
export const PROFILE_FORMAT_IDS: readonly ProfileFormatId[] = PROFILE_FORMATS.map((f) => f.id);

function profileFormat(id: string): ProfileFormat {
  const f: ProfileFormat | undefined = PROFILE_FORMATS.find((x) => x.id === id);
  if (!f) throw new CliError('bad-option', `unknown format "${id}" (use ${PROFILE_FORMAT_IDS.join(', ')})`);
  return f;
}

/** The commander option naming a profile format: choices and help from the table. */
/** --spo-version: the SeccompProfile version to write (both are read). */
export function spoVersionOption(): Option {
  return new Option(
    '--spo-version <v>',
    'SeccompProfile apiVersion for --format/--to spo: v1beta1 (served by every operator release since 0.4 and the current one) or v1 (recent operators only)',
  )
    .choices(SPO_VERSIONS)
    .default(SPO_DEFAULT_VERSION);
}

export function profileFormatOption(flags: string, what: string): Option {
  return new Option(flags, `${what}: ${PROFILE_FORMATS.map((f) => `${f.id}: ${f.help}`).join('; ')}`).choices(
    PROFILE_FORMAT_IDS,
  );
}

/**
 * Writes a profile in a format: rewritten for the container runtimes unless `asIs` or the format
 * is sysfence's own BPF, rendered, written to `ctx.output` (or stdout) with its companion file.
 * Profile errors while rendering name the input they came from.
 */
export function writeProfile(
  profile: Profile,
  format: string,
  ctx: ProfileRenderContext & {
    readonly asIs?: boolean;
    readonly source?: string;
    /** The option that named the format, for messages (default --format). */
    readonly flag?: string;
    /** A profile sysfence made: appended to SYSFENCE_AUDIT_LOG (what it is, calls past the default). */
    readonly audit?: { what: string; exempt: readonly string[] };
  },
): void {
  const f = profileFormat(format);
  if (f.companion && !ctx.output)
    throw new CliError('bad-option', `${ctx.flag ?? '--format'} ${f.id} writes two files: give -o NAME.json`);
  const p = f.forRuntimes && !ctx.asIs ? exactForRuntimes(profile) : profile;
  let out: string | Uint8Array;
  try {
    out = f.render(p, ctx);
  } catch (e) {
    if (e instanceof ProfileError)
      throw new CliError(e.code, e.message, `${ctx.source ?? '<profile>'} ${e.path}`);
    throw e;
  }
  if (ctx.output) writeOutput(ctx.output, out);
  else process.stdout.write(out);
  if (ctx.audit && typeof out === 'string')
    auditProfile({ ...ctx.audit, format: f.id, text: out, output: ctx.output });
  if (f.companion && ctx.output) {
    const c = f.companion(ctx.output);
    writeOutput(c.file, c.text);
    err(`sysfence: wrote ${c.file}: ${c.what}`);
  }
}

/** What a check report needs. */
export interface CheckReportContext {
  readonly profileFile: string;
  readonly recording: Recording;
}

export interface ReportFormat {
  readonly id: string;
  readonly help: string;
  render(r: CheckResult, ctx: CheckReportContext): string;
}

export const REPORT_FORMATS = [
  {
    id: 'text',
    help: 'one line per call, for people',
    render: (r, ctx) => formatCheckText(r, ctx.profileFile),
  },
  {
    id: 'json',
    help: 'every verdict as JSON',
    render: (r, ctx) =>
      toJsonText({
        profile: ctx.profileFile,
        denied: r.denied.length,
        expected: r.expected.length,
        depends: r.depends.length,
        unreadable: ctx.recording.malformed.count,
        items: r.items,
      }),
  },
  {
    id: 'junit',
    help: 'JUnit XML, one test case per call',
    render: (r, ctx) => formatCheckJunit(r, ctx.profileFile),
  },
  {
    id: 'sarif',
    help: 'SARIF 2.1.0 for code-scanning alerts',
    render: (r, ctx) => formatCheckSarif(r, ctx.profileFile, VERSION),
  },
] as const satisfies readonly ReportFormat[];

/** The commander option naming a report format. */
export function reportFormatOption(): Option {
  return new Option(
    '--format <fmt>',
    `the report format: ${REPORT_FORMATS.map((f) => `${f.id}: ${f.help}`).join('; ')}`,
  )
    .choices(REPORT_FORMATS.map((f) => f.id))
    .default('text');
}

export function renderReport(format: string, r: CheckResult, ctx: CheckReportContext): string {
  const f: ReportFormat | undefined = REPORT_FORMATS.find((x) => x.id === format);
  if (!f) throw new CliError('bad-option', `unknown report format "${format}"`);
  return f.render(r, ctx);
}
