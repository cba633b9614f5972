// Editors of one rule value in human units. Each takes the configured value and the learned one
// (for marking what learning saw) and reports a new configured value; none ever shows a raw code
// outside its details line.
import { useState } from 'preact/hooks';
import { cidrFromText, cidrText, describeLimit, describeSeconds, FLAG_CHARS, hex, limitCode, limitInterval, limitMax, unicodeBlocks, unicodePosition, withFlag, type CountRange, type Noun, type WireCidr } from '../units.js';
import { isObject } from '../rules-model.js';

let ids = 0;
/** A stable unique id for label/input pairs. */
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++ids}`);
  return id;
}

export function LimitEditor(props: { label: string; noun: Noun; code: unknown; seconds?: boolean; onChange(code: number): void }) {
  const id = useId('limit');
  const code = typeof props.code === 'number' ? props.code : 0;
  const max = limitMax(code);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (max === Infinity ? 'any' : String(max));
  const commit = (value: string): void => {
    const t = value.trim().toLowerCase();
    setText(null);
    if (t === '' || t === 'any') return props.onChange(255);
    const n = Number(t);
    if (Number.isInteger(n) && n >= 0) props.onChange(limitCode(n));
  };
  const [lo, hi] = limitInterval(code);
  return (
    <span class="limit-editor">
      <label for={id}>{props.label}: up to</label>{' '}
      <input
        id={id}
        class="num"
        inputMode="numeric"
        value={shown}
        aria-describedby={`${id}-d`}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        onChange={(e) => commit((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => e.key === 'Enter' && commit((e.target as HTMLInputElement).value)}
      />{' '}
      <span id={`${id}-d`} class="hint">
        {props.seconds ? describeSeconds(code) : describeLimit(code, props.noun)}
        {lo !== hi && hi !== Infinity ? ` (Guard counts in steps: ${lo}–${hi} is one step)` : ''}
      </span>
    </span>
  );
}

export function FlagsEditor(props: { value: unknown; learned: unknown; onChange?(mask: number): void }) {
  const mask = typeof props.value === 'number' ? props.value >>> 0 : 0;
  const learned = typeof props.learned === 'number' ? props.learned >>> 0 : 0;
  return (
    <div class="chips" role="group" aria-label="Special characters allowed">
      {FLAG_CHARS.map((f) => {
        const on = ((mask >>> f.bit) & 1) === 1;
        const seen = ((learned >>> f.bit) & 1) === 1;
        return (
          <button
            type="button"
            class={`chip flag${on ? ' on' : ''}${seen ? ' seen' : ''}`}
            aria-pressed={on}
            title={`${f.name}${seen ? ' (seen while learning)' : ''}`}
            aria-label={`${f.name} ${f.chars}${seen ? ', seen while learning' : ''}`}
            disabled={!props.onChange}
            onClick={() => props.onChange?.(withFlag(mask, f.bit, !on))}
          >
            {f.chars}
          </button>
        );
      })}
      <span class="hint details">{hex(mask)}</span>
    </div>
  );
}

export function UnicodeEditor(props: { value: unknown; onChange?(words: number[] | null): void }) {
  const id = useId('scripts');
  const words = Array.isArray(props.value) ? (props.value as number[]).map((w) => Number(w) >>> 0) : [];
  const blocks = unicodeBlocks(words);
  const [text, setText] = useState('');
  const set = (next: number[]): void => {
    while (next.length > 0 && next[next.length - 1] === 0) next.pop();
    props.onChange?.(next.length === 0 ? null : next);
  };
  const add = (): void => {
    const next = [...words];
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 128) continue;
      const { word, bit } = unicodePosition(cp);
      while (next.length <= word) next.push(0);
      next[word] = (next[word] | (1 << bit)) >>> 0;
    }
    setText('');
    set(next);
  };
  return (
    <div class="chips">
      {blocks.length === 0 && <span class="hint">no scripts beyond ASCII</span>}
      {blocks.map((b) => (
        <span class="chip on" key={`${b.word}.${b.bit}`}>
          {b.name}
          {props.onChange && (
            <button type="button" class="x" aria-label={`remove ${b.name}`} onClick={() => set(words.map((w, i) => (i === b.word ? (w & ~(1 << b.bit)) >>> 0 : w)))}>
              ×
            </button>
          )}
        </span>
      ))}
      {props.onChange && (
        <span class="add">
          <label for={id}>allow the scripts of</label>{' '}
          <input id={id} value={text} placeholder="é, ж, 字…" onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && add()} />{' '}
          <button type="button" onClick={add}>Add</button>
        </span>
      )}
    </div>
  );
}

/** A list of strings (methods, media types, body problems) or of CIDRs, as removable chips. */
export function ChipsEditor(props: { items: string[]; learned?: string[]; what: string; placeholder: string; check?(text: string): string | null; onChange?(items: string[]): void }) {
  const id = useId('chips');
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const add = (): void => {
    const t = text.trim();
    if (!t) return;
    const p = props.check?.(t) ?? null;
    setProblem(p);
    if (p) return;
    if (!props.items.includes(t)) props.onChange?.([...props.items, t]);
    setText('');
  };
  return (
    <div class="chips">
      {props.items.length === 0 && <span class="hint">none</span>}
      {props.items.map((item) => (
        <span class={`chip on${props.learned?.includes(item) ? ' seen' : ''}`} key={item}>
          {item}
          {props.onChange && (
            <button type="button" class="x" aria-label={`remove ${item}`} onClick={() => props.onChange!(props.items.filter((i) => i !== item))}>
              ×
            </button>
          )}
        </span>
      ))}
      {props.onChange && (
        <span class="add">
          <label for={id} class="sr-only">
            add {props.what}
          </label>
          <input id={id} value={text} placeholder={props.placeholder} onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && add()} />{' '}
          <button type="button" onClick={add}>
            Add {props.what}
          </button>
          {problem && (
            <span class="error" role="alert">
              {problem}
            </span>
          )}
        </span>
      )}
    </div>
  );
}

export function setItems(v: unknown): string[] {
  const list = isObject(v) ? v.set : v;
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
}

export function cidrItems(v: unknown): string[] {
  return Array.isArray(v) ? v.filter(isObject).map((c) => cidrText(c as unknown as WireCidr)) : [];
}

export function cidrsFromItems(items: string[]): WireCidr[] | null {
  const out: WireCidr[] = [];
  for (const t of items) {
    const c = cidrFromText(t);
    if (typeof c !== 'string') out.push(c);
  }
  return out.length === 0 ? null : out;
}

export function checkCidr(text: string): string | null {
  const c = cidrFromText(text);
  return typeof c === 'string' ? c : null;
}

/** Ranges of counts; with `bytes`, the stored values are bit lengths and people edit byte sizes. */
export function RangesEditor(props: { value: unknown; bytes?: boolean; noun: string; onChange?(ranges: CountRange[] | null): void }) {
  const ranges: CountRange[] = Array.isArray(props.value) ? (props.value as CountRange[]).filter(isObject) : [];
  const show = (bits: number, end: 'min' | 'max'): number => (props.bytes ? (bits <= 0 ? 0 : end === 'min' ? 2 ** (bits - 1) : 2 ** bits - 1) : bits);
  const store = (n: number): number => (props.bytes ? (n <= 0 ? 0 : Math.min(255, Math.floor(Math.log2(n)) + 1)) : Math.max(0, Math.min(255, Math.floor(n))));
  const update = (i: number, end: 'min' | 'max', text: string): void => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) return;
    const next = ranges.map((r, j) => (j === i ? { ...r, [end]: store(n) } : r));
    props.onChange?.(next);
  };
  return (
    <div class="ranges">
      {ranges.length === 0 && <span class="hint">none</span>}
      {ranges.map((r, i) => (
        <span class="range" key={i}>
          <input class="num" aria-label={`${props.noun}: from`} disabled={!props.onChange} value={show(r.min, 'min')} onChange={(e) => update(i, 'min', (e.target as HTMLInputElement).value)} /> –{' '}
          <input class="num" aria-label={`${props.noun}: to`} disabled={!props.onChange} value={show(r.max, 'max')} onChange={(e) => update(i, 'max', (e.target as HTMLInputElement).value)} /> {props.noun}
        </span>
      ))}
      {props.onChange && ranges.length === 0 && (
        <button type="button" onClick={() => props.onChange!([{ min: 0, max: 0 }])}>
          Add a range
        </button>
      )}
    </div>
  );
}
