/** sysfence's public library API. Every export is named; there is no logic here. */
export { ARCH_DEFS, ARCH_IDS } from './arch/defs.js';
export { KERNEL_VERSION } from './arch/tables/index.gen.js';
export {
  findArch,
  isKnownSyscallName,
  isLegacySyscallName,
  KNOWN_SYSCALL_NAMES,
  nativeArch,
  syscallTable,
} from './arch/tables.js';
export type { ArchDef, ArchId, Multiplexer, NrBit, SyscallTable } from './arch/types.js';
export { describeRet } from './bpf/actions.js';
export type { BuiltProgram, Target } from './bpf/builder.js';
export { ProgramBuilder } from './bpf/builder.js';
export { assemble, disassemble } from './bpf/disasm.js';
export type { EmulationResult, SeccompData } from './bpf/emulate.js';
export { emulate } from './bpf/emulate.js';
export { decode, encode } from './bpf/encode.js';
export { BpfError } from './bpf/errors.js';
export type { Instruction, Program } from './bpf/instruction.js';
export { validateProgram } from './bpf/validate.js';
export type { Case } from './compiler/cases.js';
export { verificationCases } from './compiler/cases.js';
export type { CompiledFilter, CompileOptions } from './compiler/compile.js';
export { CompileError, compile } from './compiler/compile.js';
export { actionOfRet, retValue } from './compiler/ret.js';
export type { Mismatch, VerifyResult } from './compiler/verify.js';
export { verifyProgram } from './compiler/verify.js';
// recordings and generation: traces in, profiles out
export { ociRunCommand } from './exec/runtimes.js';
export type { ArchEquivalent, ArchMapping } from './knowledge/arch-equivalents.js';
export { ARCH_EQUIVALENTS, ARCH_SPECIFIC, mapToArch } from './knowledge/arch-equivalents.js';
export type { CallFamily, FamilyAddition } from './knowledge/call-families.js';
export { CALL_FAMILIES, familyAdditions } from './knowledge/call-families.js';
export { ENOSYS_PROBED } from './knowledge/probed-calls.js';
export type { Runtime, RuntimeSet } from './knowledge/runtime-sets.js';
export { FOR_RUNTIMES, runtimeSet } from './knowledge/runtime-sets.js';
export type { RuntimeFacts, RuntimeId } from './knowledge/runtimes.js';
export { isRuntimeId, RUNTIME_IDS, RUNTIMES } from './knowledge/runtimes.js';
// runtimes: what Docker, runc, Podman and crun enforce (libseccomp modelled exactly)
export type { LibseccompFilter, Refusal } from './libseccomp/filter.js';
export type { LibseccompVersion } from './libseccomp/names.js';
export type { Action, ActionKind } from './profile/actions.js';
export { ACTION_PRECEDENCE, formatAction, toAction } from './profile/actions.js';
export { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from './profile/capabilities.js';
export { errnoName, errnoNumber } from './profile/errno.js';
export type { EvaluateOptions, SyscallCall, Verdict } from './profile/evaluate.js';
export { conditionHolds, evaluate, evaluateData } from './profile/evaluate.js';
export type { ArchSummary, SyscallExplanation } from './profile/explain.js';
export { explainProfile, explainSyscall } from './profile/explain.js';
export type { DefaultDeny, GenerateOptions, GenerateResult } from './profile/generate.js';
export { generate, runCoverage } from './profile/generate.js';
export type { Issue, Severity } from './profile/issues.js';
export type { LoadedProfile, LoadResult, ProfileFormat } from './profile/load.js';
export { detectFormat, loadProfileText } from './profile/load.js';
export type {
  ActionName,
  ArchMapEntry,
  ArgCondition,
  Operator,
  Profile,
  RuleFilter,
  SyscallRule,
} from './profile/model.js';
export { ACTIONS, FILTER_FLAGS, OPERATORS, ruleNames } from './profile/model.js';
export type { ParseResult } from './profile/parse-docker.js';
export { parseDockerProfile } from './profile/parse-docker.js';
export type {
  ArchPolicy,
  Condition,
  ConditionalRule,
  ProfilePolicy,
  SyscallPolicy,
} from './profile/policy.js';
export { buildPolicy } from './profile/policy.js';
export { ProfileError } from './profile/profile-error.js';
export { referenceProfile } from './profile/reference-profiles.js';
export type { ResolveOptions } from './profile/resolve.js';
export { resolve } from './profile/resolve.js';
export { serializeDocker } from './profile/serialize-docker.js';
export type { SpoObject, SpoParseResult, SpoSerializeResult } from './profile/spo.js';
export { parseSpo, serializeSpo } from './profile/spo.js';
export { validateProfile } from './profile/validate.js';
export { AuditReader } from './recorders/audit.js';
export type { ImportFormat, ImportOptions } from './recorders/import.js';
export { detectFormat as detectLogFormat, IMPORT_FORMATS, importLogs } from './recorders/import.js';
export { parseRecording, RecordingError } from './recording/parse-recording.js';
export type { CallSite, Recording, SyscallStats } from './recording/recording.js';
export {
  mergeRecordings,
  normalize as normalizeRecording,
  RecordingBuilder,
  serializeRecording,
} from './recording/recording.js';
export type { CheckItem, CheckResult } from './review/check.js';
export { checkRecording, formatCheckJunit, formatCheckSarif, formatCheckText } from './review/check.js';
export type { Change, DiffResult } from './review/diff.js';
export { diffProfiles, formatDiffMarkdown, formatDiffText } from './review/diff.js';
export type { Finding, LintSeverity } from './review/lint/index.js';
export { lintProfile } from './review/lint/index.js';
export type { MergeResult } from './review/merge.js';
export { mergeProfiles } from './review/merge.js';
export type { ReportCall, ReportData } from './review/report.js';
export { buildReport } from './review/report.js';
export { renderReport } from './review/report-html.js';
export type { ReviewOptions, SyscallVerdict, VerdictTable } from './review/verdicts.js';
export { verdictTable } from './review/verdicts.js';
export type { DivergenceReport, SyscallDivergence } from './targets/divergences.js';
export { divergences } from './targets/divergences.js';
export type { ExactResult } from './targets/exact.js';
export { ensureRuntimeExact } from './targets/exact.js';
export type { Rewrite } from './targets/rewrite.js';
export type { RuntimeTarget } from './targets/target.js';
export { describeTarget, runtimeTarget } from './targets/target.js';
export type { Divergence, DivergenceLabel, RuntimeFilter, RuntimeVerdict } from './targets/verdict.js';
export { runtimeEvaluate, runtimeFilter } from './targets/verdict.js';
export { VERSION } from './version.js';
