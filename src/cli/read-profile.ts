import { basename } from 'node:path';
import { LIMITS, readStdinText, readText } from '../exec/files.js';
import { type LoadResult, loadProfileText, type ProfileFormat } from '../profile/load.js';
import { CliError } from './errors.js';

export interface ReadProfileResult extends LoadResult {
  file: string;
  text: string;
}

export function parseFormatOption(v: string | undefined): ProfileFormat | undefined {
  if (v === undefined || v === 'auto') return undefined;
  if (v === 'docker' || v === 'oci' || v === 'json') return 'docker';
  if (v === 'spo' || v === 'yaml') return 'spo';
  throw new CliError('bad-option', `unknown input format "${v}" (use auto, docker or spo)`);
}

export function readProfile(file: string, format?: ProfileFormat): ReadProfileResult {
  const text = file === '-' ? readStdinText() : readText(file, LIMITS.profile, 'profile');
  return { ...loadProfileText(text, format), file: file === '-' ? '<stdin>' : file, text };
}

/** The one profile of a file, refusing files with errors (they would be misread downstream). */
export function requireOneProfile(r: ReadProfileResult, allowWarnings = true) {
  const errors = r.issues.filter(
    (i) => i.severity === 'error' || (!allowWarnings && i.severity === 'warning'),
  );
  if (errors.length > 0 || r.profiles.length === 0) {
    const first = errors[0];
    throw new CliError(
      first?.code ?? 'no-profile',
      `${r.file} is not a valid profile (${errors.length} error${errors.length === 1 ? '' : 's'}; first: ${first?.message ?? 'nothing to read'})`,
      first?.position ? `${r.file}:${first.position.line}:${first.position.column}` : r.file,
      `run: sysfence validate ${r.file}`,
    );
  }
  if (r.profiles.length > 1)
    throw new CliError(
      'several-profiles',
      `${r.file} holds ${r.profiles.length} SeccompProfile objects; this command takes one`,
      r.file,
    );
  return { ...r.profiles[0]!, name: r.profiles[0]!.name ?? basename(r.file).replace(/\.(json|ya?ml)$/, '') };
}
