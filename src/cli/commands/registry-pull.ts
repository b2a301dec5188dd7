import type { Command } from 'commander';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { loadProfileText } from '../../profile/load.js';
import {
  MEDIA_TYPE_LAYER,
  parseReference,
  printable,
  profileLayer,
  RegistryClient,
  RegistryError,
} from '../../registry/oci.js';
import { EXIT_OK } from '../errors.js';
import { err } from '../output.js';
import { credentials, registryOptions } from './registry.js';

export function registerPull(program: Command, setExit: (code: number) => void): void {
  registryOptions(
    program
      .command('pull')
      .description(
        'pull a seccomp profile artifact from an OCI registry; every byte is checked against its digest',
      )
      .argument('<reference>', 'HOST[:PORT]/REPOSITORY[:TAG] or ...@sha256:DIGEST (pinned)')
      .option('-o, --output <file>', 'write the profile here instead of stdout'),
  )
    .addHelpText(
      'after',
      `
The manifest (by digest: its bytes must hash to it), the layer (its digest and size) and the profile
(it must validate) are checked before anything is written: a tampered or corrupt artifact is
refused with artifact-digest-mismatch. The annotations and the digest go to stderr.

Example:
  sysfence pull registry.example:5000/profiles/web@sha256:... -o web.json`,
    )
    .action(async (reference: string, opts: Record<string, string | boolean | undefined>) => {
      const ref = parseReference(reference);
      checkWritable(opts.output as string | undefined);
      const client = new RegistryClient(ref, credentials(opts), opts.plainHttp === true);
      const m = await client.manifest();
      const where = `${ref.registry}/${ref.repository}@${m.digest}`;
      const layer = profileLayer(m.manifest, where);
      const bytes = await client.blob(layer);
      const text = Buffer.from(bytes).toString('utf8');
      // the layer says application/json: it is read as JSON, never as the YAML it might be
      if (!/^\s*\{/.test(text))
        throw new RegistryError(
          'artifact-invalid',
          `the ${MEDIA_TYPE_LAYER} layer holds no JSON object (${printable(text, 60)})`,
          where,
        );
      const loaded = loadProfileText(text, 'docker');
      const errors = loaded.issues.filter((i) => i.severity === 'error');
      if (errors.length > 0 || loaded.profiles.length !== 1)
        throw new RegistryError(
          'artifact-invalid',
          `the artifact's profile does not validate: ${errors[0]?.message ?? 'not one profile'}`,
          where,
        );
      for (const [k, v] of Object.entries(m.manifest.annotations ?? {}))
        err(`sysfence: ${printable(k, 100)}: ${printable(v)}`);
      err(`sysfence: pulled ${where} (${bytes.length} bytes, digests checked)`);
      if (opts.output) writeOutput(String(opts.output), text);
      else process.stdout.write(text);
      setExit(EXIT_OK);
    });
}
