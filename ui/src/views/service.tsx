// One service's Guardian: its mode and control flags, its rules (learned beside configured, edited
// without JSON or in the YAML/JSON tab), its alerts, and "try a request". Edits are kept as a draft,
// checked by the wasm core before saving, and saved with the resourceVersion they were made on.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, type Api, type GuardianView } from '../api.js';
import { browserCore } from '../core-loader.js';
import { CONTROL_FLAGS, modeOf, rulesInForce, type Control } from '../mode.js';
import { deleteAt, getAt, same, setAt, type Path } from '../rules-model.js';
import { POLICY_WORDS, policyOf, routesOf, slackOf, withPolicy, type NamePolicy } from '../routes-model.js';
import { RulesView } from '../widgets/rules.js';
import { AlertsView } from './alerts.js';
import { RoutesTab } from './routes.js';
import { SourceTab } from './source.js';
import { TryTab } from './try.js';

export type Tab = 'overview' | 'rules' | 'routes' | 'alerts' | 'try' | 'source';
const TABS: Array<[Tab, string]> = [
  ['overview', 'Overview'],
  ['rules', 'Rules'],
  ['routes', 'Routes'],
  ['alerts', 'Alerts'],
  ['try', 'Try a request'],
  ['source', 'YAML / JSON'],
];

export interface Draft {
  configured: unknown;
  control: Control | null;
}

interface Notice {
  kind: 'ok' | 'error' | 'conflict';
  text: string;
}

export function ServiceView(props: { api: Api; namespace: string; service: string; tab: Tab }) {
  const [base, setBase] = useState<GuardianView | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [saving, setSaving] = useState(false);
  const [onlyDiff, setOnlyDiff] = useState(false);
  const [filter, setFilter] = useState('');
  // A typed value that cannot be saved (the slack): saving waits until it is fixed or discarded.
  const [fieldProblem, setFieldProblem] = useState<string | null>(null);
  // Bumped when the draft is replaced (saved, discarded): editors drop what they hold typed.
  const [generation, setGeneration] = useState(0);

  const load = async (): Promise<void> => {
    try {
      const g = await props.api.guardian(props.namespace, props.service);
      setBase(g);
      setDraft({ configured: g.spec.configured, control: g.spec.control });
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, [props.namespace, props.service]);

  const dirty = base !== null && draft !== null && (!same(draft.configured, base.spec.configured) || !same(draft.control, base.spec.control));

  // Every draft is loaded by the core before it may be saved: what the gate would refuse is named here.
  useEffect(() => {
    if (!draft || !dirty) return setInvalid(null);
    let current = true;
    browserCore().then(
      (core) => {
        if (!current) return;
        try {
          core.parseGuardian({ configured: draft.configured, samples: 0, control: draft.control }).dispose();
          setInvalid(null);
        } catch (err) {
          setInvalid((err as Error).message);
        }
      },
      // Without the core the draft cannot be checked here: say so rather than let it pass unchecked.
      (err: unknown) => current && setInvalid(`the draft cannot be checked: the core did not load in this page (${(err as Error).message})`),
    );
    return () => {
      current = false;
    };
  }, [draft, dirty]);

  if (problem) return <p class="error" role="alert">{problem}</p>;
  if (!base || !draft) return <p aria-busy="true">Loading {props.namespace}/{props.service}…</p>;

  const edit = (path: Path, value: unknown): void => {
    setDraft((d) => ({ ...d!, configured: setAt(d!.configured, path, value) }));
  };
  const remove = (path: Path): void => setDraft((d) => ({ ...d!, configured: deleteAt(d!.configured, path) }));
  const promote = (path: Path): void => edit(path, structuredClone(getAt(base.spec.learned, path)));
  const promoteAll = (): void => setDraft((d) => ({ ...d!, configured: structuredClone(base.spec.learned ?? null) }));
  const setPolicy = (key: 'unknownRoute' | 'unknownParam' | 'slack', value: NamePolicy | number): void => setDraft((d) => ({ ...d!, control: withPolicy(d!.control, key, value) }));
  const reset = (configured: unknown, control: Control | null): void => {
    setDraft({ configured, control });
    setFieldProblem(null);
    setGeneration((n) => n + 1);
  };
  const setControl = (key: keyof Control, on: boolean): void =>
    setDraft((d) => ({ ...d!, control: { ...(d!.control ?? { alert: false, block: false, learn: false, force: false, auto: false }), [key]: on } }));

  const save = async (): Promise<void> => {
    setSaving(true);
    setNotice(null);
    try {
      let saved: GuardianView;
      try {
        saved = await props.api.save(base, base.resourceVersion, draft);
      } catch (err) {
        if (!(err instanceof ApiFailure) || err.code !== 'GUARD_API_STALE') throw err;
        // Changed since it was read. When only the learner wrote (learned, samples), this draft
        // applies unchanged to the new version; when a person changed the rules or the control,
        // nothing is overwritten: the person sees it and decides.
        const fresh = await props.api.guardian(props.namespace, props.service);
        if (!same(fresh.spec.configured, base.spec.configured) || !same(fresh.spec.control, base.spec.control)) {
          setNotice({
            kind: 'conflict',
            text: `Not saved: someone else changed the rules or the control of ${props.namespace}/${props.service} while you were editing (you started from version ${base.resourceVersion}, it is now at ${fresh.resourceVersion}). Your changes are still here; reload to see theirs, then redo yours.`,
          });
          return;
        }
        saved = await props.api.save(fresh, fresh.resourceVersion, draft);
      }
      setBase(saved);
      reset(saved.spec.configured, saved.spec.control);
      setNotice({ kind: 'ok', text: `Saved: ${props.namespace}/${props.service} is now at version ${saved.resourceVersion}.` });
    } catch (err) {
      setNotice({ kind: 'error', text: `Not saved: ${(err as Error).message}` });
    } finally {
      setSaving(false);
    }
  };

  const c = draft.control;
  return (
    <div class="service">
      <header class="service-head">
        <h2>
          {props.namespace}/{props.service}
        </h2>
        <p class="mode">
          <strong>{modeOf(c)}</strong> with the {rulesInForce(c)} · {base.spec.samples.toLocaleString('en')} samples learned · version {base.resourceVersion}
        </p>
      </header>
      <nav class="tabs" aria-label="Views of this service">
        {TABS.map(([t, label]) => (
          <a key={t} href={`#/service/${props.namespace}/${props.service}/${t}`} aria-current={props.tab === t ? 'page' : undefined} class={props.tab === t ? 'tab on' : 'tab'}>
            {label}
          </a>
        ))}
      </nav>
      {(dirty || notice) && (
        <div class={`save-bar ${notice?.kind ?? ''}`} role="region" aria-label="Unsaved changes">
          {notice && (
            <p role={notice.kind === 'ok' ? 'status' : 'alert'} class={notice.kind === 'ok' ? 'ok' : 'error'}>
              {notice.text}
            </p>
          )}
          {dirty && (
            <div class="save-actions">
              <span>You have unsaved changes.</span>
              {invalid && <span class="error">The core refuses them: {invalid}</span>}
              {fieldProblem && <span class="error">{fieldProblem}</span>}
              <button type="button" class="primary" disabled={saving || invalid !== null || fieldProblem !== null} onClick={save}>
                {saving ? 'Saving…' : 'Save'}
              </button>
              <button type="button" onClick={() => reset(base.spec.configured, base.spec.control)}>
                Discard
              </button>
              {notice?.kind === 'conflict' && (
                <button type="button" onClick={() => void load().then(() => setNotice(null))}>
                  Reload (drops your changes)
                </button>
              )}
            </div>
          )}
        </div>
      )}
      {props.tab === 'overview' && <Overview base={base} draft={draft} setControl={setControl} promoteAll={promoteAll} />}
      {props.tab === 'rules' && (
        <div>
          <div class="rules-tools">
            <label>
              <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff((e.target as HTMLInputElement).checked)} /> Only where learned and configured differ
            </label>{' '}
            <label>
              Find a rule <input value={filter} placeholder="e.g. header, id, Methods" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
            </label>{' '}
            {base.spec.learned != null && (
              <button type="button" onClick={promoteAll}>
                Use all learned rules
              </button>
            )}
            {c?.auto && <span class="hint"> The learned rules are in force (auto): configured ones apply once Enforce the learned rules is off.</span>}
          </div>
          <RulesView learned={base.spec.learned} configured={draft.configured} edit={edit} remove={remove} promote={promote} onlyDiff={onlyDiff} filter={filter} />
        </div>
      )}
      {props.tab === 'routes' && <RoutesTab key={generation} base={base} draft={draft} edit={edit} remove={remove} setPolicy={setPolicy} setProblem={setFieldProblem} />}
      {props.tab === 'alerts' && <AlertsView api={props.api} namespace={props.namespace} service={props.service} spec={base.spec} />}
      {props.tab === 'try' && <TryTab base={base} draft={draft} dirty={dirty} />}
      {props.tab === 'source' && <SourceTab draft={draft} setDraft={setDraft} />}
    </div>
  );
}

function Overview(props: { base: GuardianView; draft: Draft; setControl(key: keyof Control, on: boolean): void; promoteAll(): void }) {
  const c = props.draft.control;
  return (
    <div class="overview">
      <fieldset class="control">
        <legend>What Guard does for this service</legend>
        {CONTROL_FLAGS.map((f) => {
          const on = c?.[f.key] === true;
          return (
            <div class="flag" key={f.key}>
              <label>
                <input type="checkbox" name={f.key} checked={on} onChange={(e) => props.setControl(f.key, (e.target as HTMLInputElement).checked)} /> <strong>{f.label}</strong>
              </label>
              <p class="sentence">{on ? f.on : f.off}</p>
            </div>
          );
        })}
        <p class="hint">Changes apply once saved; the gates take them at their next sync.</p>
      </fieldset>
      <section>
        <h3>Rules</h3>
        <p>
          Learned: {props.base.spec.learned == null ? 'nothing yet' : `from ${props.base.spec.samples.toLocaleString('en')} samples`}. Configured: {props.base.spec.configured == null ? 'nothing' : 'yes'}.
        </p>
        {props.base.spec.learned != null && (
          <button type="button" onClick={props.promoteAll}>
            Use all learned rules as the configured ones
          </button>
        )}
      </section>
      <RoutesSummary base={props.base} draft={props.draft} />
    </div>
  );
}

/** The route table and policies in one line each, with the way to the Routes tab. */
function RoutesSummary(props: { base: GuardianView; draft: Draft }) {
  const c = props.draft.control;
  const table = routesOf(c?.auto ? props.base.spec.learned : props.draft.configured);
  return (
    <section>
      <h3>Routes</h3>
      <p>
        {table ? `${Object.keys(table).length.toLocaleString('en')} routes in the rules in force.` : 'The rules in force have no route table: no route checks.'} Unknown routes {POLICY_WORDS[policyOf(c, 'unknownRoute')]}; unknown parameter names {POLICY_WORDS[policyOf(c, 'unknownParam')]}; slack:{' '}
        {slackOf(c)}. <a href={`#/service/${props.base.namespace}/${props.base.service}/routes`}>Routes and policies</a>
      </p>
    </section>
  );
}
