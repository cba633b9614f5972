// The micro-rules of a Guardian, learned beside configured, field by field, in human units. The
// walk follows rules-model's table; a field it does not know is shown as it is. Every row whose
// learned value differs offers "Use learned" (promote that field); configured values are edited in
// place when an onChange is given.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { emptyValueRule, fieldsOf, getAt, isObject, same, SIMPLEVAL_FIELDS, summarize, summarizeValue, type Field, type Path } from '../rules-model.js';
import { Sentence } from './sentence.js';
import { hostProblem } from '../units.js';
import { ChipsEditor, checkCidr, cidrItems, cidrsFromItems, FlagsEditor, LimitEditor, RangesEditor, setItems, UnicodeEditor, useId } from './editors.js';

export interface RulesProps {
  learned: unknown;
  configured: unknown;
  /** Set a configured value (path from the criteria root). */
  edit(path: Path, value: unknown): void;
  remove(path: Path): void;
  /** Copy the learned value at path into configured. */
  promote(path: Path): void;
  /** Only differences between learned and configured. */
  onlyDiff: boolean;
  filter: string;
}

export function RulesView(props: RulesProps) {
  if (props.configured == null && props.learned == null) return <p class="empty">Nothing learned and nothing configured yet.</p>;
  return (
    <div class="rules">
      {fieldsOf('session', props.learned, props.configured).map((f) => (
        <Section key={f.key} field={f} path={[f.key]} {...props} />
      ))}
    </div>
  );
}

function Section(props: RulesProps & { field: Field & { known: boolean }; path: Path }) {
  const { field, path } = props;
  const learned = getAt(props.learned, path);
  const configured = getAt(props.configured, path);
  if (field.kind === 'bool') {
    const id = `rule-${path.join('-')}`;
    return (
      <p class="rule-switch">
        <input id={id} type="checkbox" checked={configured === true} disabled={props.configured == null} onChange={(e) => props.edit(path, (e.target as HTMLInputElement).checked)} />{' '}
        <label for={id}>{field.label} (configured)</label> <span class="hint">learned: {summarize(field, learned)}. {field.help}</span>
      </p>
    );
  }
  // Unknown fields, and the caps and the route table (shown route by route on the Routes tab): one row.
  if (!field.known || field.kind === 'caps' || field.kind === 'routes') {
    return (
      <table class="rule-table">
        <tbody>
          <Row {...props} field={field} path={path} rowLearned={learned} rowConfigured={configured} />
        </tbody>
      </table>
    );
  }
  const notConfigured = configured == null;
  return (
    <section class="rule-section" aria-labelledby={`sec-${path.join('-')}`}>
      <h3 id={`sec-${path.join('-')}`}>
        {field.label}
        {notConfigured && <span class="badge">{props.configured == null ? 'nothing configured' : 'not configured: not enforced with configured rules'}</span>}
        {learned == null && <span class="badge">nothing learned</span>}
        {notConfigured && learned != null && props.configured != null && (
          <button type="button" class="promote" onClick={() => props.promote(path)}>
            Use learned {field.label.toLowerCase()}
          </button>
        )}
      </h3>
      <table class="rule-table">
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Learned</th>
            <th scope="col">Configured</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          <Fields {...props} kind={field.kind} path={path} prefix="" editable={!notConfigured && props.configured != null} />
        </tbody>
      </table>
    </section>
  );
}

function Fields(props: RulesProps & { kind: Field['kind']; path: Path; prefix: string; editable: boolean; keyNoun?: string }) {
  const learned = getAt(props.learned, props.path);
  const configured = getAt(props.configured, props.path);
  return (
    <>
      {fieldsOf(props.kind, learned, configured).map((f) => {
        const path = [...props.path, f.key];
        const label = f.label ? `${props.prefix}${f.label}` : props.prefix.replace(/ › $/, '');
        const sub = { ...props, path, prefix: `${label} › `, keyNoun: f.keyNoun ?? props.keyNoun };
        if (!f.known) return <Row {...props} key={f.key} field={{ ...f, label }} path={path} rowLearned={getAt(props.learned, path)} rowConfigured={getAt(props.configured, path)} />;
        switch (f.kind) {
          case 'url':
          case 'kvsection':
          case 'mediatype':
          case 'structured':
          case 'envelop':
          case 'pod':
          case 'req':
          case 'resp':
          case 'body':
            return <Fields {...sub} key={f.key} kind={f.kind} />;
          case 'keyval':
            return f.key === 'vals' ? <KeyRows {...sub} key={f.key} keyNoun={props.keyNoun ?? 'key'} /> : <Fields {...sub} key={f.key} kind="keyval" />;
          default:
            return <Leaf {...props} key={f.key} field={{ ...f, label }} path={path} />;
        }
      })}
    </>
  );
}

function Row(props: RulesProps & { field: Field & { known?: boolean }; path: Path; rowLearned: unknown; rowConfigured: unknown; editable?: boolean; children?: ComponentChildren; extra?: ComponentChildren }) {
  const { field, rowLearned: learned, rowConfigured: configured } = props;
  const differs = !same(learned, configured);
  const label = field.label;
  if (props.onlyDiff && !differs) return null;
  if (props.filter && !label.toLowerCase().includes(props.filter.toLowerCase())) return null;
  const canPromote = differs && learned !== undefined && props.configured != null;
  return (
    <tr class={differs ? 'differs' : undefined} data-rule={props.path.join('.')}>
      <th scope="row">
        <Sentence text={label} />
        {field.help && <span class="help">{field.help}</span>}
        {field.known === false && <span class="badge">unknown field</span>}
      </th>
      <td class="learned">{summarize(field, learned)}</td>
      <td class="configured">{props.children ?? summarize(field, configured)}</td>
      <td class="actions">
        {canPromote && (
          <button type="button" class="promote" aria-label={`Use learned: ${label}`} onClick={() => props.promote(props.path)}>
            Use learned
          </button>
        )}
        {props.extra}
      </td>
    </tr>
  );
}

function Leaf(props: RulesProps & { field: Field; path: Path; editable: boolean }) {
  const { field, path } = props;
  const learned = getAt(props.learned, path);
  const configured = getAt(props.configured, path);
  const set = props.editable ? (v: unknown) => props.edit(path, v) : undefined;
  let editor: ComponentChildren = undefined;
  if (set) {
    switch (field.kind) {
      case 'limit':
      case 'seconds':
        editor = <LimitEditor label={field.label} noun={field.noun ?? { one: 's', many: 's' }} seconds={field.kind === 'seconds'} code={configured} onChange={set} />;
        break;
      case 'flags':
        editor = <FlagsEditor value={configured} learned={learned} onChange={set} />;
        break;
      case 'unicode':
        editor = <UnicodeEditor value={configured} onChange={set} />;
        break;
      case 'set':
        editor = <ChipsEditor items={setItems(configured)} learned={setItems(learned)} what={field.label.toLowerCase().replace(/s$/, '')} placeholder="add…" onChange={(items) => set({ set: items.length ? items : null })} />;
        break;
      case 'hosts':
        editor = <ChipsEditor items={setItems(configured)} learned={setItems(learned)} what="host" placeholder="shop.example.com" check={hostProblem} onChange={(items) => set({ set: items.length ? items : null })} />;
        break;
      case 'cidrs':
        editor = <ChipsEditor items={cidrItems(configured)} learned={cidrItems(learned)} what="address" placeholder="203.0.113.0/24" check={checkCidr} onChange={(items) => set(cidrsFromItems(items))} />;
        break;
      case 'ranges':
      case 'byteRanges':
        editor = <RangesEditor value={configured} bytes={field.kind === 'byteRanges'} noun={field.kind === 'byteRanges' ? 'bytes' : (field.noun?.many ?? '')} onChange={set} />;
        break;
      case 'simpleval':
        return <ValueRow {...props} field={field} path={path} rowLearned={learned} rowConfigured={configured} />;
      default:
        break;
    }
  } else if (field.kind === 'simpleval') {
    return <ValueRow {...props} field={field} path={path} rowLearned={learned} rowConfigured={configured} />;
  }
  return (
    <Row {...props} field={field} path={path} rowLearned={learned} rowConfigured={configured}>
      {editor !== undefined ? (
        <div class="editor">
          <span class="summary">{summarize(field, configured)}</span>
          {editor}
        </div>
      ) : undefined}
    </Row>
  );
}

/** A value rule (SimpleVal): its summary, and when editable an expandable editor of each counter. */
function ValueRow(props: RulesProps & { field: Field; path: Path; editable: boolean; rowLearned: unknown; rowConfigured: unknown; extra?: ComponentChildren }) {
  const { field, path, rowConfigured: configured, rowLearned: learned } = props;
  const editable = props.editable && isObject(configured);
  return (
    <Row {...props} field={{ ...field, kind: 'simpleval' }} path={path} rowLearned={learned} rowConfigured={configured} extra={props.extra}>
      {editable ? (
        <details class="value-editor">
          <summary>{summarizeValue(configured)}</summary>
          {SIMPLEVAL_FIELDS.map((f) => {
            const p = [...path, f.key];
            const v = getAt(props.configured, p);
            if (f.kind === 'limit') return <div key={f.key}><LimitEditor label={f.label} noun={f.noun!} code={v} onChange={(c) => props.edit(p, c)} /></div>;
            if (f.kind === 'flags') return <div key={f.key}><span class="label">{f.label}</span><FlagsEditor value={v} learned={getAt(learned, [f.key])} onChange={(m) => props.edit(p, m)} /></div>;
            return <div key={f.key}><span class="label">{f.label}</span><UnicodeEditor value={v} onChange={(w) => props.edit(p, w)} /></div>;
          })}
        </details>
      ) : (
        summarizeValue(configured)
      )}
    </Row>
  );
}

/** The keys of a key/value table (query parameters, headers, body fields), one row each. */
function KeyRows(props: RulesProps & { path: Path; prefix: string; editable: boolean; keyNoun: string }) {
  const id = useId('newkey');
  const [name, setName] = useState('');
  const learned = getAt(props.learned, props.path);
  const configured = getAt(props.configured, props.path);
  const keys = new Set<string>([...(isObject(learned) ? Object.keys(learned) : []), ...(isObject(configured) ? Object.keys(configured) : [])]);
  const table = props.prefix.replace(/ › $/, '');
  const add = (): void => {
    const k = name.trim();
    if (!k) return;
    const fromLearned = isObject(learned) ? learned[k] : undefined;
    props.edit([...props.path, k], fromLearned !== undefined ? structuredClone(fromLearned) : emptyValueRule());
    setName('');
  };
  return (
    <>
      {keys.size === 0 && !props.onlyDiff && (
        <tr>
          <th scope="row">{table}</th>
          <td colSpan={3} class="hint">
            no {props.keyNoun}s known one by one
          </td>
        </tr>
      )}
      {[...keys].sort().map((k) => {
        const path = [...props.path, k];
        const inConfigured = isObject(configured) && configured[k] !== undefined;
        return (
          <ValueRow
            {...props}
            key={k}
            field={{ key: k, label: `${props.keyNoun} \`${k}\``, kind: 'simpleval' }}
            path={path}
            rowLearned={getAt(props.learned, path)}
            rowConfigured={getAt(props.configured, path)}
            extra={
              props.editable && inConfigured ? (
                <button type="button" class="remove" aria-label={`Remove ${props.keyNoun} ${k}`} onClick={() => props.remove(path)}>
                  Remove
                </button>
              ) : undefined
            }
          />
        );
      })}
      {props.editable && (
        <tr class="add-key">
          <th scope="row">
            <label for={id}>Allow a {props.keyNoun}</label>
          </th>
          <td colSpan={3}>
            <input id={id} value={name} placeholder="name" onInput={(e) => setName((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && add()} />{' '}
            <button type="button" onClick={add}>
              Allow {props.keyNoun}
            </button>{' '}
            <span class="hint">as learned if it was, else with only empty values; then set what it may hold.</span>
          </td>
        </tr>
      )}
    </>
  );
}
