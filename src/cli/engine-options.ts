/**
 * The container engine options, one per row of `ENGINES` (recorders/container-engines.ts):
 * `--docker`, `--podman`, ... declared, described and told apart in one place, so that a new
 * engine is a row, not an option in every command.
 */
import type { Command } from 'commander';
import { CONTAINERD_SOCKET } from '../exec/cri.js';
import { type ContainerEngine, ENGINES, RUNNING_ENGINES } from '../recorders/container-engines.js';
import { CliError } from './errors.js';

/** `--ID` for each engine; `value` names the option's argument (inspect's `<container>`). */
export function engineOptions(
  cmd: Command,
  help: (e: ContainerEngine) => string,
  value?: string,
  which: readonly ContainerEngine[] = RUNNING_ENGINES,
): Command {
  for (const e of which) cmd.option(`--${e.id}${value ? ` <${value}>` : ''}`, help(e));
  return cmd;
}

/** "--docker or --podman". */
export const engineFlags = (which: readonly ContainerEngine[] = RUNNING_ENGINES): string =>
  which.map((e) => `--${e.id}`).join(' or ');

/** The engine the options name (undefined: none); more than one is an error. */
export function chosenEngine(opts: Record<string, unknown>): ContainerEngine | undefined {
  const given = ENGINES.filter((e) => opts[e.id] !== undefined && opts[e.id] !== false);
  if (given.length > 1) throw new CliError('bad-option', `give ${engineFlags(given)}, not both`);
  return given[0];
}

/** The value given to the chosen engine's option (inspect: the container). */
export function engineValue(
  opts: Record<string, unknown>,
): { engine: ContainerEngine; value: string } | undefined {
  const engine = chosenEngine(opts);
  return engine ? { engine, value: String(opts[engine.id]) } : undefined;
}

/**
 * containerd's socket, for the CRI and for its images alike: --cri-endpoint, else
 * $CONTAINER_RUNTIME_ENDPOINT (crictl's), else $CONTAINERD_ADDRESS (ctr's), else containerd's own.
 */
export function criEndpoint(flag: unknown): string {
  if (typeof flag === 'string' && flag !== '') return flag;
  return process.env.CONTAINER_RUNTIME_ENDPOINT || process.env.CONTAINERD_ADDRESS || CONTAINERD_SOCKET;
}
