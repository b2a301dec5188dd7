/**
 * Kubernetes outputs besides the SPO SeccompProfile (spo.ts): the patch that points a workload's
 * pod template at a Localhost profile. The kubelet reads Localhost profiles relative to its
 * seccomp root, /var/lib/kubelet/seccomp; the profile file itself is the Docker/OCI JSON.
 */
import { basename } from 'node:path';

/** The strategic-merge patch for a Deployment (StatefulSet, DaemonSet, Job: the same template path). */
export function k8sPatch(profileFile: string): string {
  const file = basename(profileFile);
  const stem = file.replace(/\.json$/, '');
  return `# Run a Kubernetes workload under ${file} as a Localhost seccomp profile.
# 1. Put ${file} on every node at /var/lib/kubelet/seccomp/profiles/${file} (node image,
#    a DaemonSet, or the Security Profiles Operator: see docs/kubernetes.md).
# 2. Patch the pod template: kubectl patch deployment/${stem} --patch-file ${stem}.k8s.yaml
#    For a bare Pod, put the same securityContext under its spec.
spec:
  template:
    spec:
      securityContext:
        seccompProfile:
          type: Localhost
          localhostProfile: profiles/${file}
`;
}
