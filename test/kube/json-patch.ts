// RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch over plain JSON values, as the API server applies
// them to a stored object. Strict RFC semantics: `replace` and `remove` need the target to exist.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class PatchError extends Error {
  /** 'test-failed' for a failed `test` op, 'invalid' for a patch document that cannot be applied. */
  readonly kind: 'test-failed' | 'invalid';
  constructor(kind: 'test-failed' | 'invalid', message: string) {
    super(message);
    this.name = 'PatchError';
    this.kind = kind;
  }
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw new PatchError('invalid', `path must be a string, got ${JSON.stringify(pointer)}`);
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError('invalid', `path "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(array: Json[], token: string, forInsert: boolean, pointer: string): number {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError('invalid', `path "${pointer}": "${token}" is not an array index`);
  const index = Number(token);
  const limit = forInsert ? array.length : array.length - 1;
  if (index > limit) throw new PatchError('invalid', `path "${pointer}": index ${index} out of bounds`);
  return index;
}

/** The container holding the last token of `tokens`; throws when an intermediate member is missing. */
function parentOf(doc: Json, tokens: string[], pointer: string): Json {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false, pointer)]!;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]!;
    else throw new PatchError('invalid', `path "${pointer}": doc is missing path`);
  }
  return node;
}

function getAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false, pointer)]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last]!;
  throw new PatchError('invalid', `path "${pointer}": doc is missing key`);
}

function addAt(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, pointer), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new PatchError('invalid', `path "${pointer}": parent is not a container`);
  return doc;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('invalid', 'cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, pointer), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw new PatchError('invalid', `remove operation does not apply: doc is missing path: "${pointer}"`);
  return doc;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]!));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k]!, b[k]!));
  }
  return false;
}

/** Applies an RFC 6902 patch to a deep copy of `doc`. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError('invalid', 'a JSON patch must be an array of operations');
  let result = structuredClone(doc) as Json;
  for (const op of patch) {
    if (!isObject(op)) throw new PatchError('invalid', `operation ${JSON.stringify(op)} is not an object`);
    const path = op.path as string;
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.hasOwn(op, 'value')) throw new PatchError('invalid', `${String(op.op)} operation on "${path}" has no value`);
    switch (op.op) {
      case 'add':
        result = addAt(result, path, structuredClone(op.value!));
        break;
      case 'remove':
        result = removeAt(result, path);
        break;
      case 'replace':
        getAt(result, path); // must exist
        if (parsePointer(path).length === 0) result = structuredClone(op.value!);
        else result = addAt(removeAt(result, path), path, structuredClone(op.value!));
        break;
      case 'move': {
        const from = op.from as string;
        if (typeof path === 'string' && typeof from === 'string' && path.startsWith(`${from}/`))
          throw new PatchError('invalid', `move from "${from}" into its own child "${path}"`);
        const value = getAt(result, from);
        result = addAt(removeAt(result, from), path, value);
        break;
      }
      case 'copy':
        result = addAt(result, path, structuredClone(getAt(result, op.from as string)));
        break;
      case 'test': {
        let actual: Json;
        try {
          actual = getAt(result, path);
        } catch {
          throw new PatchError('test-failed', `testing value ${path} failed: path does not exist`);
        }
        if (!deepEqual(actual, op.value!)) throw new PatchError('test-failed', `testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError('invalid', `unknown operation ${JSON.stringify(op.op)}`);
    }
  }
  return result;
}

/** Applies an RFC 7386 merge patch: objects merge, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}
