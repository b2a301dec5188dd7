import { serializeDocker } from '../../../profile/serialize-docker.js';
import type { LintCheck } from '../types.js';

/**
 * Limits a runtime applies to a profile pulled as an OCI artifact (KEP-6061, "OCI artifact-based
 * security profile distribution", kubernetes/enhancements#6062, alpha in Kubernetes 1.38): at most
 * 128 syscall entries and 1 MiB. A profile past them is refused at pull time, not at review.
 */
export const OCI_ARTIFACT_MAX_ENTRIES = 128;
export const OCI_ARTIFACT_MAX_BYTES = 1024 * 1024;

export const ociArtifact: LintCheck = {
  codes: [
    {
      code: 'oci-artifact-limits',
      summary: 'past the limits for profiles shipped as OCI artifacts (KEP-6061: 128 syscall entries, 1 MiB)',
    },
  ],
  run(ctx) {
    const entries = ctx.profile.syscalls?.length ?? 0;
    const bytes = Buffer.byteLength(serializeDocker(ctx.profile));
    const out = [];
    if (entries > OCI_ARTIFACT_MAX_ENTRIES)
      out.push({
        code: 'oci-artifact-limits',
        severity: 'warning' as const,
        path: '$.syscalls',
        message: `${entries} syscall entries: a profile pulled as an OCI artifact (KEP-6061) may have at most ${OCI_ARTIFACT_MAX_ENTRIES}`,
        fix: 'merge rules with the same action and no arguments into one entry (sysfence merge writes them so), or ship the profile as a Localhost file',
      });
    if (bytes > OCI_ARTIFACT_MAX_BYTES)
      out.push({
        code: 'oci-artifact-limits',
        severity: 'warning' as const,
        path: '$',
        message: `${bytes} bytes as Docker JSON: a profile pulled as an OCI artifact (KEP-6061) may be at most ${OCI_ARTIFACT_MAX_BYTES} (1 MiB)`,
        fix: 'fewer argument rules, or ship the profile as a Localhost file',
      });
    return out;
  },
};
