import type { Profile } from '../profile/model.js';
import { ProfileError } from '../profile/profile-error.js';
import { ensureRuntimeExact } from '../targets/exact.js';
import { CliError } from './errors.js';
import { err } from './output.js';

/**
 * Every profile a command writes goes through here: rules libseccomp (as runc and crun use it)
 * would refuse or enforce otherwise are rewritten into an equivalent form it compiles exactly (said
 * on stderr), or the command fails rather than write a profile whose enforced meaning differs.
 */
export function exactForRuntimes(p: Profile): Profile {
  try {
    const r = ensureRuntimeExact(p);
    for (const line of r.rewritten) err(`sysfence: ${line}`);
    return r.profile;
  } catch (e) {
    if (e instanceof ProfileError)
      throw new CliError(
        e.code,
        e.message,
        e.path,
        'sysfence lint shows the rules and the calls that differ',
      );
    throw e;
  }
}
