/**
 * The few facts per instruction the analysis reads, as written by an architecture's decoder: one
 * table of typed arrays per decoded function (no object per instruction).
 */

export enum K {
  /** d = v */
  Set,
  /** d = s */
  Copy,
  /** d, s and the listed locations become unknown */
  Clobber,
  /** d += v (a single constant stays a constant) */
  Add,
  /** swap d and s */
  Xchg,
  /** d = an entry of a jump table (x86 movsxd from a scaled index) */
  Table,
  /** d = d + s (a jump-table entry stays one; constants fold) */
  TableAdd,
  /** stack slot d = s (or v when s < 0) */
  Store,
  /** the stack pointer moved: the tracked stack slots become unknown (and d, when >= 0) */
  StackMove,
  Syscall,
  /** a system call of another ABI (int 0x80 in 64-bit code) */
  Foreign,
  Call,
  Jmp,
  Jcc,
  Ret,
  /** the path ends (ud2, hlt, int3, brk) */
  Stop,
}

export class OpTable {
  n = 0;
  k = new Uint8Array(256);
  at = new Float64Array(256);
  d = new Int8Array(256);
  s = new Int8Array(256);
  v = new Float64Array(256);
  /** branch target (a code address), -1: none */
  to = new Float64Array(256);
  /** the pointer slot an indirect branch reads (its address), -1: none */
  slot = new Float64Array(256);
  /** the location an indirect branch reads its target from, -1: none */
  reg = new Int8Array(256);
  /** 1: the branch is a switch's (x86 notrack) */
  flag = new Uint8Array(256);
  /** index into `lists` of further clobbered locations, -1: none */
  clob = new Int16Array(256);
  readonly lists: number[][] = [];
  private readonly listIndex = new Map<string, number>();

  reset(): void {
    this.n = 0;
  }
  list(locs: readonly number[]): number {
    const key = locs.join(',');
    let i = this.listIndex.get(key);
    if (i === undefined) {
      i = this.lists.length;
      this.lists.push([...locs]);
      this.listIndex.set(key, i);
    }
    return i;
  }
  push(k: K, at: number, d = -1, s = -1, v = 0, to = -1, slot = -1, reg = -1, flag = 0, clob = -1): void {
    if (this.n === this.k.length) this.grow();
    const i = this.n++;
    this.k[i] = k;
    this.at[i] = at;
    this.d[i] = d;
    this.s[i] = s;
    this.v[i] = v;
    this.to[i] = to;
    this.slot[i] = slot;
    this.reg[i] = reg;
    this.flag[i] = flag;
    this.clob[i] = clob;
  }
  private grow(): void {
    const n = this.k.length * 2;
    const g = <T extends Uint8Array | Int8Array | Int16Array | Float64Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.k = g(this.k, (x) => new Uint8Array(x));
    this.at = g(this.at, (x) => new Float64Array(x));
    this.d = g(this.d, (x) => new Int8Array(x));
    this.s = g(this.s, (x) => new Int8Array(x));
    this.v = g(this.v, (x) => new Float64Array(x));
    this.to = g(this.to, (x) => new Float64Array(x));
    this.slot = g(this.slot, (x) => new Float64Array(x));
    this.reg = g(this.reg, (x) => new Int8Array(x));
    this.flag = g(this.flag, (x) => new Uint8Array(x));
    this.clob = g(this.clob, (x) => new Int16Array(x));
  }
  /**
   * The index of the first op at or after an address (binary search; -1: none). Instructions that
   * matter to no location write no op, so a branch to one lands on the next op that does.
   */
  indexOf(addr: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.at[mid] as number) < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.n ? lo : -1;
  }
}
