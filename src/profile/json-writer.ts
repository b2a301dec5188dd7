/**
 * Deterministic JSON text in Docker's profile style: objects and non-empty arrays expanded one
 * member per line, tab indentation, bigint written as exact integers. Keys are written in the
 * order the caller gives; undefined members are left out.
 */
export type JsonValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | JsonValue[]
  | { [k: string]: JsonValue | undefined };

export function writeJson(value: JsonValue, indent = '\t'): string {
  const out: string[] = [];
  const write = (v: JsonValue, depth: number): void => {
    const pad = indent.repeat(depth + 1);
    const close = indent.repeat(depth);
    if (v === null) out.push('null');
    else if (typeof v === 'bigint') out.push(v.toString());
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (Array.isArray(v)) {
      if (v.length === 0) {
        out.push('[]');
        return;
      }
      out.push('[\n');
      v.forEach((item, i) => {
        out.push(pad);
        write(item, depth + 1);
        out.push(i < v.length - 1 ? ',\n' : '\n');
      });
      out.push(`${close}]`);
    } else {
      const entries = Object.entries(v).filter((e): e is [string, JsonValue] => e[1] !== undefined);
      if (entries.length === 0) {
        out.push('{}');
        return;
      }
      out.push('{\n');
      entries.forEach(([k, item], i) => {
        out.push(`${pad}${JSON.stringify(k)}: `);
        write(item, depth + 1);
        out.push(i < entries.length - 1 ? ',\n' : '\n');
      });
      out.push(`${close}}`);
    }
  };
  write(value, 0);
  return out.join('');
}
