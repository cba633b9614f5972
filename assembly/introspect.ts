// One command against one data-model type, JSON in and out (see core/index.ts introspect): the
// reference test vectors, the UI's rule explorer and tooling use it. Not on any hot path.
export function introspect(len: i32): i32 {
  return -1;
}
