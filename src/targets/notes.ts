/**
 * The runtime's differences from a profile, in a few lines for people: what the review commands
 * (diff, explain, report, check) print next to the profile's own meaning. One line per (syscall,
 * cause) with a witness call; runc's ENOSYS stub for numbers the profile does not name is one line
 * per ABI.
 */
import { formatAction } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import { DEFAULT_KERNEL, resolve } from '../profile/resolve.js';
import { divergences, formatCall } from './divergences.js';
import { describeTarget, RUNTIMES, type RuntimeTarget } from './target.js';
import type { DivergenceLabel } from './verdict.js';

export interface RuntimeNote {
  abi: string;
  name: string;
  label: DivergenceLabel;
  /** e.g. "getpid(2): ERRNO(5), the profile intends ALLOW". */
  call: string;
  reason: string;
}

export interface RuntimeNotes {
  target: string;
  refused?: string;
  /** Not checked: the profile is too big for the model. */
  unmodelled?: string;
  notes: RuntimeNote[];
  /** Per ABI: verification cases of unnamed numbers runc's stub answers with ENOSYS. */
  stubbed: { abi: string; cases: number }[];
}

export interface NoteOptions {
  capabilities?: readonly string[];
  kernelVersion?: string;
}

/** The runtime's differences from a (possibly unresolved) profile; undefined for sysfence's own filter. */
export function runtimeNotes(p: Profile, t: RuntimeTarget, o: NoteOptions = {}): RuntimeNotes | undefined {
  if (RUNTIMES[t.runtime].engine === 'sysfence') return undefined;
  const resolved = resolve(p, {
    arch: t.native,
    ...(o.capabilities ? { capabilities: o.capabilities } : {}),
    kernelVersion: o.kernelVersion ?? DEFAULT_KERNEL,
  });
  const r = divergences(resolved, t);
  const out: RuntimeNotes = {
    target: describeTarget(t),
    notes: r.syscalls.map((d) => ({
      abi: d.abi.id,
      name: d.name,
      label: d.label,
      call: `${formatCall(d.name, d.witness.args)}: ${formatAction(d.runtime)}, the profile intends ${formatAction(d.intent)}`,
      reason: d.reason.replace(/^intends [^;]*; [^:]*: /, ''),
    })),
    stubbed: r.stubbed.map((s) => ({ abi: s.abi.id, cases: s.cases })),
  };
  if (r.refused) out.refused = r.refused.message;
  if (r.unmodelled) out.unmodelled = r.unmodelled;
  return out;
}

/** Notes with one cause: the same label, verdicts and reason (the call's name aside). */
export interface RuntimeNoteGroup {
  label: DivergenceLabel;
  /** "ERRNO(38), the profile intends ALLOW". */
  verdicts: string;
  /** The reason, with each call's name as <name>. */
  reason: string;
  /** Per ABI, the calls (with the witness arguments where they matter). */
  calls: { abi: string; calls: string[] }[];
  count: number;
}

/**
 * The notes grouped by cause, in first-seen order: one cause (a name libseccomp lacks, runc's
 * stub, Docker dropping defaultErrnoRet) reaches hundreds of calls, which is one finding.
 */
export function groupRuntimeNotes(notes: readonly RuntimeNote[]): RuntimeNoteGroup[] {
  const groups = new Map<string, RuntimeNoteGroup>();
  for (const n of notes) {
    const colon = n.call.indexOf(': ');
    const call = colon >= 0 ? n.call.slice(0, colon) : n.call;
    const verdicts = colon >= 0 ? n.call.slice(colon + 2) : '';
    const reason = n.reason.replaceAll(`"${n.name}"`, '<name>').replaceAll(` ${n.name} `, ' <name> ');
    const key = `${n.label}\u0000${verdicts}\u0000${reason}`;
    const g = groups.get(key) ?? { label: n.label, verdicts, reason, calls: [], count: 0 };
    groups.set(key, g);
    const shown = call === `${n.name}()` ? n.name : call;
    const perAbi = g.calls.find((c) => c.abi === n.abi);
    if (perAbi) perAbi.calls.push(shown);
    else g.calls.push({ abi: n.abi, calls: [shown] });
    g.count++;
  }
  return [...groups.values()];
}

/** The notes as text lines (indented), one per cause; empty when the runtime does what the profile says. */
export function formatRuntimeNotes(n: RuntimeNotes | undefined, indent = '  '): string[] {
  if (!n) return [];
  if (n.refused) return [`${indent}under ${n.target}: REFUSED: ${n.refused}`];
  if (n.unmodelled) return [`${indent}under ${n.target}: NOT CHECKED: ${n.unmodelled}`];
  if (n.notes.length === 0) return [];
  const groups = groupRuntimeNotes(n.notes);
  return [
    `${indent}under ${n.target}, ${n.notes.length === 1 ? '1 call gets' : `${n.notes.length} calls get`} another verdict than the profile says${groups.length > 1 ? `, for ${groups.length} causes` : ''}:`,
    ...groups.map(
      (g) =>
        `${indent}  [${g.label}] ${g.verdicts}${g.count > 1 ? ` (${g.count} calls)` : ''}: ${g.reason}: ${g.calls.map((c) => `${c.abi} ${c.calls.join(', ')}`).join('; ')}`,
    ),
  ];
}
