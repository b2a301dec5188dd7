import { runTool } from '../../exec/run.js';
import { CliError } from '../errors.js';

/** The host pid of a running container. */
export function containerPid(cli: string, name: string): number {
  const r = runTool(cli, ['inspect', '--format', '{{.State.Pid}}', name], { timeoutMs: 30_000 });
  const pid = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(pid) || pid <= 0)
    throw new CliError(
      'container-not-running',
      `${cli} has no running container ${name}${r.stderr.trim() ? ` (${r.stderr.trim().split('\n')[0]})` : ''}`,
      name,
    );
  return pid;
}
