import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Profile } from '../../profile/model.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import {
  type Credentials,
  LAYER_TITLE,
  MEDIA_TYPE_PROFILE,
  parseReference,
  profileArtifact,
  RegistryClient,
} from '../../registry/oci.js';
import { lintProfile } from '../../review/lint/index.js';
import { VERSION } from '../../version.js';
import { CliError, EXIT_OK } from '../errors.js';
import { exactForRuntimes } from '../exact.js';
import { err } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';

/** --username with the password from stdin (--password-stdin) or SYSFENCE_REGISTRY_PASSWORD. */
export function credentials(opts: Record<string, string | boolean | undefined>): Credentials | undefined {
  const username = (opts.username as string | undefined) ?? process.env.SYSFENCE_REGISTRY_USERNAME;
  if (!username) return undefined;
  const password = opts.passwordStdin
    ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    : process.env.SYSFENCE_REGISTRY_PASSWORD;
  if (password === undefined)
    throw new CliError(
      'bad-option',
      '--username needs a password: --password-stdin, or SYSFENCE_REGISTRY_PASSWORD in the environment',
    );
  return { username, password };
}

export function registryOptions(cmd: Command): Command {
  return cmd
    .option('--username <user>', 'registry user (or SYSFENCE_REGISTRY_USERNAME)')
    .option('--password-stdin', 'read the registry password from stdin (or SYSFENCE_REGISTRY_PASSWORD)')
    .option('--plain-http', 'talk HTTP, not HTTPS (localhost and 127.0.0.1 always do)');
}

export function registerPush(program: Command, setExit: (code: number) => void): void {
  registryOptions(
    program
      .command('push')
      .description('push a profile to an OCI registry as a seccomp profile artifact (KEP-6061, SPO layout)')
      .argument('<profile>', 'the profile (Docker/OCI JSON or SPO YAML)')
      .argument('<reference>', 'HOST[:PORT]/REPOSITORY[:TAG]')
      .option(
        '--annotation <key=value>',
        'another manifest annotation (repeat)',
        (v: string, all: string[] = []) => [...all, v],
      ),
  )
    .addHelpText(
      'after',
      `
The artifact is what Kubernetes (KEP-6061) and the Security Profiles Operator (spoc pull, oci://
references) read: an OCI manifest of type ${MEDIA_TYPE_PROFILE}, config {}, one
application/json layer (${LAYER_TITLE}) holding the profile as Docker/OCI JSON, with the
provenance in annotations (sysfence version, architectures). The same profile always gets the same
digest (org.opencontainers.image.created is SOURCE_DATE_EPOCH or the epoch). Printed on stdout:
the reference by digest, to pin.

Example:
  sysfence push web.json registry.example:5000/profiles/web:1.4`,
    )
    .action(
      async (
        file: string,
        reference: string,
        opts: Record<string, string | boolean | string[] | undefined>,
      ) => {
        pushTarget(reference); // a bad reference is said before the profile is read
        const profile = exactForRuntimes(requireOneProfile(readProfile(file)).profile);
        const pinned = await pushProfile(profile, reference, opts);
        process.stdout.write(`${pinned}\n`);
        setExit(EXIT_OK);
      },
    );
}

/**
 * Pushes a profile as a seccomp profile artifact to `reference` (HOST[:PORT]/REPOSITORY:TAG) and
 * returns the reference by digest. Used by `push` and by `record --select --push`.
 */
export async function pushProfile(
  profile: Profile,
  reference: string,
  opts: Record<string, string | boolean | string[] | undefined>,
): Promise<string> {
  const ref = pushTarget(reference);
  for (const f of lintProfile(profile).filter((x) => x.code === 'oci-artifact-limits'))
    err(`sysfence: warning: ${f.message}`);
  const json = Buffer.from(serializeDocker(profile));
  const arches = profile.archMap?.map((a) => a.architecture) ?? profile.architectures ?? [];
  const annotations: Record<string, string> = {
    'dev.sysfence.version': VERSION,
    'dev.sysfence.architectures': arches.join(','),
    'dev.sysfence.default-action': profile.defaultAction,
  };
  for (const a of (opts.annotation as string[] | undefined) ?? []) {
    const i = a.indexOf('=');
    if (i <= 0) throw new CliError('bad-option', `--annotation takes key=value, not ${a}`);
    annotations[a.slice(0, i)] = a.slice(i + 1);
  }
  const art = profileArtifact(json, annotations);
  const client = new RegistryClient(
    ref,
    credentials(opts as Record<string, string | boolean>),
    opts.plainHttp === true,
  );
  await client.pushBlob(art.config);
  await client.pushBlob(art.layer);
  const digest = await client.pushManifest(art.manifest, ref.tag!);
  err(`sysfence: pushed ${ref.registry}/${ref.repository}:${ref.tag} (${json.length} bytes of profile)`);
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** A reference to push to: a tag, never a digest (the digest is the result). */
export function pushTarget(reference: string): ReturnType<typeof parseReference> {
  const ref = parseReference(reference);
  if (ref.digest)
    throw new CliError('bad-reference', 'push takes a tag, not a digest: the digest is the result');
  return ref;
}
