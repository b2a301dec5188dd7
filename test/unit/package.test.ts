import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('package', () => {
  it('VERSION equals package.json', () => {
    expect(api.VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
  it('the public API is the named list (no accidental exports)', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'BpfError',
        'CompileError',
        'ProgramBuilder',
        'actionOfRet',
        'assemble',
        'compile',
        'decode',
        'describeRet',
        'disassemble',
        'emulate',
        'encode',
        'evaluateData',
        'retValue',
        'validateProgram',
        'verificationCases',
        'verifyProgram',
        'ACTIONS',
        'ACTION_PRECEDENCE',
        'ARCH_DEFS',
        'ARCH_IDS',
        'CAPABILITIES',
        'DOCKER_DEFAULT_CAPABILITIES',
        'FILTER_FLAGS',
        'KERNEL_VERSION',
        'KNOWN_SYSCALL_NAMES',
        'OPERATORS',
        'ProfileError',
        'VERSION',
        'buildPolicy',
        'conditionHolds',
        'detectFormat',
        'errnoName',
        'errnoNumber',
        'evaluate',
        'explainProfile',
        'explainSyscall',
        'findArch',
        'formatAction',
        'isKnownSyscallName',
        'isLegacySyscallName',
        'loadProfileText',
        'nativeArch',
        'parseDockerProfile',
        'parseSpo',
        'resolve',
        'ruleNames',
        'serializeDocker',
        'serializeSpo',
        'syscallTable',
        'toAction',
        'validateProfile',
        // review
        'buildReport',
        'checkRecording',
        'diffProfiles',
        'formatCheckJunit',
        'formatCheckSarif',
        'formatCheckText',
        'formatDiffMarkdown',
        'formatDiffText',
        'lintProfile',
        'mergeProfiles',
        'renderReport',
        'verdictTable',
      ].sort(),
    );
  });
});
