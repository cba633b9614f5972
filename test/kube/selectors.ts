// Label and field selectors as the API server parses them for list and watch requests.

import { statusErrors } from './status.js';
import type { KubeObject } from './resources.js';

export type ObjectFilter = (object: KubeObject) => boolean;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function labelRequirement(term: string): ObjectFilter {
  const labelsOf = (o: KubeObject) => o.metadata.labels ?? {};
  let m = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key, op, list] = m;
    const values = new Set(list!.split(',').map((v) => v.trim()));
    return op === 'in'
      ? (o) => Object.hasOwn(labelsOf(o), key!) && values.has(labelsOf(o)[key!]!)
      : (o) => !Object.hasOwn(labelsOf(o), key!) || !values.has(labelsOf(o)[key!]!);
  }
  m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
  if (m) {
    const [, key, op, value] = m;
    return op === '!='
      ? (o) => labelsOf(o)[key!] !== value
      : (o) => Object.hasOwn(labelsOf(o), key!) && labelsOf(o)[key!] === value;
  }
  m = /^(!?)([^\s!=(),]+)$/.exec(term);
  if (m) {
    const [, not, key] = m;
    return not ? (o) => !Object.hasOwn(labelsOf(o), key!) : (o) => Object.hasOwn(labelsOf(o), key!);
  }
  throw statusErrors.badRequest(`unable to parse requirement: found '${term}', expected a label selector term`);
}

export function parseLabelSelector(selector: string | null): ObjectFilter {
  if (!selector) return () => true;
  const requirements = splitTopLevel(selector).map(labelRequirement);
  return (o) => requirements.every((r) => r(o));
}

const supportedFields: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
  // Events' field labels (what `kubectl describe` selects by).
  'involvedObject.kind': (o) => involved(o, 'kind'),
  'involvedObject.name': (o) => involved(o, 'name'),
  'involvedObject.namespace': (o) => involved(o, 'namespace'),
  'involvedObject.uid': (o) => involved(o, 'uid'),
  'involvedObject.apiVersion': (o) => involved(o, 'apiVersion'),
  reason: (o) => String(o.reason ?? ''),
  source: (o) => String((o.source as { component?: string } | undefined)?.component ?? ''),
  type: (o) => String(o.type ?? ''),
};

function involved(o: KubeObject, field: string): string {
  const ref = o.involvedObject as Record<string, unknown> | undefined;
  return String(ref?.[field] ?? '');
}

export function parseFieldSelector(selector: string | null): ObjectFilter {
  if (!selector) return () => true;
  const requirements = splitTopLevel(selector).map((term): ObjectFilter => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw statusErrors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field, op, value] = m;
    const read = supportedFields[field!];
    if (!read) throw statusErrors.badRequest(`field label not supported: ${field}`);
    return op === '!=' ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (o) => requirements.every((r) => r(o));
}
