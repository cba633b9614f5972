// Every change `guard inject` makes to a pod template goes through Changes, which records how to
// undo it. The record travels in the template's annotation (record.ts), so `--uninject` restores
// exactly what was there — values, absent members and the order of keys — and touches nothing
// it did not change.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Path = Array<string | number>;

export type UndoOp =
  /** The member at path held `value`, at position `at` among its object's keys. */
  | { op: 'restore'; path: Path; value: Json; at: number }
  /** The member at path was absent. */
  | { op: 'remove'; path: Path }
  /** The element named `name` was appended to the array at path. */
  | { op: 'unappend'; path: Path; name: string }
  /** The element `value` was removed from the array at path, at `index`. */
  | { op: 'reinsert'; path: Path; index: number; value: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parentOf(root: JsonObject, path: Path): { parent: JsonObject | Json[]; key: string | number } | null {
  let node: Json = root;
  for (const k of path.slice(0, -1)) {
    if (Array.isArray(node) && typeof k === 'number') node = node[k] as Json;
    else if (isObject(node) && typeof k === 'string') node = node[k] as Json;
    else return null;
    if (node === undefined) return null;
  }
  if (!(Array.isArray(node) || isObject(node))) return null;
  return { parent: node, key: path[path.length - 1]! };
}

export function get(root: JsonObject, path: Path): Json | undefined {
  const p = parentOf(root, path);
  if (!p) return undefined;
  return Array.isArray(p.parent) ? p.parent[p.key as number] : (p.parent as JsonObject)[p.key as string];
}

/** Put `key: value` at position `at` of `object` (in place: the keys after it move down). */
function insertKey(object: JsonObject, key: string, value: Json, at: number): void {
  const entries = Object.entries(object).filter(([k]) => k !== key);
  entries.splice(Math.min(at, entries.length), 0, [key, value]);
  for (const k of Object.keys(object)) delete object[k];
  for (const [k, v] of entries) object[k] = v;
}

export class Changes {
  readonly ops: UndoOp[] = [];
  constructor(private readonly root: JsonObject) {}

  /** Set an object member (its parents must exist). */
  set(path: Path, value: Json): void {
    const p = parentOf(this.root, path);
    if (!p || !isObject(p.parent)) throw new Error(`inject: no object at ${path.slice(0, -1).join('.')}`);
    const key = p.key as string;
    if (Object.hasOwn(p.parent, key)) this.ops.push({ op: 'restore', path, value: structuredClone(p.parent[key]!), at: Object.keys(p.parent).indexOf(key) });
    else this.ops.push({ op: 'remove', path });
    p.parent[key] = value;
  }

  /** The object at path, created (and recorded) when absent. */
  object(path: Path): JsonObject {
    const v = get(this.root, path);
    if (isObject(v)) return v;
    this.set(path, {});
    return get(this.root, path) as JsonObject;
  }

  /** The array at path, created (and recorded) when absent. */
  array(path: Path): Json[] {
    const v = get(this.root, path);
    if (Array.isArray(v)) return v;
    this.set(path, []);
    return get(this.root, path) as Json[];
  }

  /** Append a named element ({name: …}) to the array at path, creating the array when absent. */
  append(path: Path, element: JsonObject & { name: string }): void {
    this.array(path).push(element);
    this.ops.push({ op: 'unappend', path, name: element.name });
  }

  /** Delete an object member. */
  delete(path: Path): void {
    const p = parentOf(this.root, path);
    if (!p || !isObject(p.parent) || !Object.hasOwn(p.parent, p.key as string)) return;
    const key = p.key as string;
    this.ops.push({ op: 'restore', path, value: structuredClone(p.parent[key]!), at: Object.keys(p.parent).indexOf(key) });
    delete p.parent[key];
  }

  /** Remove an array element. */
  removeAt(path: Path, index: number): void {
    const array = get(this.root, path);
    if (!Array.isArray(array) || index < 0 || index >= array.length) throw new Error(`inject: no element ${index} at ${path.join('.')}`);
    this.ops.push({ op: 'reinsert', path, index, value: structuredClone(array[index]!) });
    array.splice(index, 1);
  }
}

/** Apply an undo record to `root`, last change first. Returns false when the record does not fit the object. */
export function undo(root: JsonObject, ops: readonly UndoOp[]): boolean {
  for (const op of [...ops].reverse()) {
    const p = parentOf(root, op.path);
    switch (op.op) {
      case 'restore':
        if (!p || !isObject(p.parent)) return false;
        if (Object.hasOwn(p.parent, p.key as string)) p.parent[p.key as string] = op.value;
        else insertKey(p.parent, p.key as string, op.value, op.at);
        break;
      case 'remove':
        if (p && isObject(p.parent)) delete p.parent[p.key as string];
        break;
      case 'unappend': {
        const array = get(root, op.path);
        if (!Array.isArray(array)) return false;
        const i = array.findIndex((e) => isObject(e) && e.name === op.name);
        if (i < 0) return false;
        array.splice(i, 1);
        break;
      }
      case 'reinsert': {
        const array = get(root, op.path);
        if (!Array.isArray(array)) return false;
        array.splice(Math.min(op.index, array.length), 0, op.value);
        break;
      }
    }
  }
  return true;
}

/** An undo record read back from an annotation: checked op by op, since anyone can edit annotations. */
export function parseUndo(value: unknown): UndoOp[] | null {
  if (!Array.isArray(value)) return null;
  const isPath = (p: unknown): p is Path => Array.isArray(p) && p.length > 0 && p.every((k) => typeof k === 'string' || (Number.isInteger(k) && (k as number) >= 0));
  for (const op of value) {
    if (!isObject(op) || !isPath(op.path)) return null;
    if (op.op === 'restore' && Object.hasOwn(op, 'value') && Number.isInteger(op.at)) continue;
    if (op.op === 'remove') continue;
    if (op.op === 'unappend' && typeof op.name === 'string') continue;
    if (op.op === 'reinsert' && Number.isInteger(op.index) && Object.hasOwn(op, 'value')) continue;
    return null;
  }
  return value as UndoOp[];
}
