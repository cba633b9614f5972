// The route-aware parts of one Guardian (docs/routes.md): its route table learned beside configured,
// route by route in words, with promote and remove; the policies for unknown routes and parameter
// names and the slack, edited into the draft control (saved with the flags); the caps it was
// learned with, and the Host criterion, in words.
import { useState } from 'preact/hooks';
import type { GuardianView } from '../api.js';
import { count } from '../mode.js';
import { getAt, same, type Path } from '../rules-model.js';
import {
  describeCaps, describeCatchAll, describePlaceholders, describeRoute, describeRouteNames, describeSlack, MAX_SLACK, POLICY_CHOICES, POLICY_KEYS, policyOf, routeRows, routesOf, slackOf, slackProblem, type NamePolicy, type RouteRow,
} from '../routes-model.js';
import { describeHosts } from '../units.js';
import { ChipsEditor, useId } from '../widgets/editors.js';
import type { Draft } from './service.js';

export interface RoutesProps {
  base: GuardianView;
  draft: Draft;
  edit(path: Path, value: unknown): void;
  remove(path: Path): void;
  setPolicy(key: 'unknownRoute' | 'unknownParam' | 'slack', value: NamePolicy | number): void;
  /** A typed value that cannot be saved (null when none): the save bar refuses to save meanwhile. */
  setProblem(problem: string | null): void;
}

export function RoutesTab(props: RoutesProps) {
  const learned = props.base.spec.learned;
  const configured = props.draft.configured;
  const auto = props.draft.control?.auto === true;
  return (
    <div class="routes-view">
      <RouteTable {...props} learned={learned} configured={configured} auto={auto} />
      <Policies {...props} inForce={routesOf(auto ? learned : configured) !== null} />
      <section aria-labelledby="caps-head">
        <h3 id="caps-head">Caps</h3>
        <CapsList title="Learned with" criteria={learned} />
        {configured != null &&
          (same(getAt(configured, ['caps']), getAt(learned, ['caps'])) ? (
            <p data-caps="configured">Configured rules: the same caps.</p>
          ) : (
            <CapsList title="Configured rules" criteria={configured} />
          ))}
      </section>
      <section aria-labelledby="host-head">
        <h3 id="host-head">Host</h3>
        <p class="hint">The Host a request names is decided like a header: a name, with its port if any; every IPv4 and every IPv6 address is one kind each, so a new pod address is no surprise. Edit it on the Rules tab (Request › Host).</p>
        <dl class="facts">
          <dt>Learned</dt>
          <dd data-host="learned">{learned == null ? 'nothing learned' : describeHosts(getAt(learned, ['req', 'host']))}</dd>
          <dt>Configured</dt>
          <dd data-host="configured">{configured == null ? 'nothing configured' : describeHosts(getAt(configured, ['req', 'host']))}</dd>
        </dl>
      </section>
    </div>
  );
}

function RouteTable(props: RoutesProps & { learned: unknown; configured: unknown; auto: boolean }) {
  const [find, setFind] = useState('');
  const findId = useId('find-route');
  const rows = routeRows(props.learned, props.configured);
  const learnedTable = routesOf(props.learned);
  const configuredTable = routesOf(props.configured);
  const canEdit = props.configured != null;
  const inForce = props.auto ? 'learned' : 'configured';
  const inForceTable = props.auto ? learnedTable : configuredTable;
  const shown = find ? rows.filter((r) => describeRoute(r.key).toLowerCase().includes(find.toLowerCase())) : rows;
  return (
    <section aria-labelledby="routes-head">
      <h3 id="routes-head">
        Routes
        {learnedTable && <span class="badge">{count(Object.keys(learnedTable).length, 'route')} learned</span>}
        {configuredTable && <span class="badge">{count(Object.keys(configuredTable).length, 'route')} configured</span>}
      </h3>
      <p class="hint">
        A route is a method and a path template: path segments that are values (numbers, UUIDs, dates, …) become a placeholder, so <code>/items/123</code> and <code>/items/456</code> are one route;
        words never merge. Each route lists the parameter names it uses; what their values may hold is judged service-wide (Rules tab).
      </p>
      <p class="in-force">
        {inForceTable
          ? `The ${inForce} rules are in force and have a route table: a request on another route, or with a parameter name its route never used, is decided by the policies below.`
          : `The ${inForce} rules are in force and have no route table: no route checks are made.`}
      </p>
      {rows.length === 0 ? (
        <p class="empty">
          No route table, learned or configured. It is started by the first pile a Guardian learns from gates that record routes; a Guardian learned before route tables existed keeps deciding without one
          (remove its learned part to learn it afresh, docs/routes.md).
        </p>
      ) : (
        <>
          <div class="rules-tools">
            <label for={findId}>Find a route</label> <input id={findId} value={find} placeholder="e.g. /items, POST" onInput={(e) => setFind((e.target as HTMLInputElement).value)} />{' '}
            {canEdit && learnedTable && (
              <button type="button" onClick={() => props.edit(['routes'], structuredClone(learnedTable))}>
                {configuredTable ? 'Use the whole learned route table' : 'Use the learned route table'}
              </button>
            )}{' '}
            {canEdit && configuredTable && (
              <button type="button" onClick={() => props.remove(['routes'])}>
                Drop the configured route table
              </button>
            )}
          </div>
          {canEdit && !configuredTable && learnedTable && (
            <p class="hint">
              The configured rules have no route table. A route table is all or nothing (every route not in it is unknown), so start from the learned one; then routes can be taken or removed one by one.
            </p>
          )}
          <table class="rule-table route-table">
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col">Learned parameter names</th>
                <th scope="col">Configured parameter names</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <RouteLine key={r.key} row={r} editable={canEdit && configuredTable !== null} {...props} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function RouteLine(props: RoutesProps & { row: RouteRow; editable: boolean }) {
  const { row } = props;
  return (
    <tr class={row.differs ? 'differs' : undefined} data-route={row.key}>
      <th scope="row">
        <RouteName row={row} />
      </th>
      <td class="learned">{row.learned === undefined ? 'not learned' : describeRouteNames(row.learned)}</td>
      <td class="configured">
        {row.configured === undefined ? 'not configured' : props.editable ? <RouteNamesEditor {...props} /> : describeRouteNames(row.configured)}
      </td>
      <td class="actions">
        {props.editable && row.differs && row.learned !== undefined && (
          <button type="button" class="promote" aria-label={`Use learned route ${row.key}`} onClick={() => props.edit(['routes', row.key], structuredClone(row.learned))}>
            Use learned
          </button>
        )}
        {props.editable && row.configured !== undefined && (
          <button type="button" class="remove" aria-label={`Remove route ${row.key}`} onClick={() => props.remove(['routes', row.key])}>
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

/** The configured names of one route, query and body, as chips: a name allowed or removed in place. */
function RouteNamesEditor(props: RoutesProps & { row: RouteRow }) {
  const { row } = props;
  const names = row.configured!;
  const place = (key: 'query' | 'body', label: string) => (
    <div>
      <span class="label">{label}</span>
      <ChipsEditor
        items={Array.isArray(names[key]) ? names[key] : []}
        learned={Array.isArray(row.learned?.[key]) ? row.learned[key] : []}
        what={`${key === 'query' ? 'query parameter' : 'body field'} to ${row.key}`}
        placeholder="name"
        onChange={(items) => props.edit(['routes', row.key, key], [...items].sort())}
      />
    </div>
  );
  return (
    <details class="value-editor">
      <summary>{describeRouteNames(names)}</summary>
      {place('query', 'Query parameters')}
      {place('body', 'Body fields (JSON member paths such as address:city)')}
    </details>
  );
}

function RouteName(props: { row: RouteRow }) {
  const catchAll = describeCatchAll(props.row.key);
  if (catchAll) return <span class="route">{catchAll}</span>;
  const words = describePlaceholders(props.row.template);
  return (
    <span class="route">
      <code>{props.row.key}</code>
      {words && (
        <>
          {' — '}
          <span class="placeholders">{words}</span>
        </>
      )}
    </span>
  );
}

function Policies(props: RoutesProps & { inForce: boolean }) {
  const control = props.draft.control;
  const slack = slackOf(control);
  const [slackText, setSlackText] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const slackId = useId('slack');
  const typeSlack = (text: string): void => {
    setSlackText(text);
    const p = slackProblem(text);
    setProblem(p);
    props.setProblem(p);
    if (p === null) props.setPolicy('slack', Number(text.trim()));
  };
  return (
    <section aria-labelledby="policies-head" class="policies">
      <h3 id="policies-head">Policies</h3>
      <p class="hint">
        Saved with the control flags. Whatever the policy, the service-wide rules always apply too: a policy can add alerts, never remove one.
        {!props.inForce && ' The rules in force have no route table: the two policies take effect once they have one (the slack applies in any case).'}
      </p>
      {POLICY_KEYS.map((k) => {
        const current = policyOf(control, k.key);
        return (
          <fieldset key={k.key} class="policy" data-policy={k.key}>
            <legend>{k.label}</legend>
            <div class="choices">
              {POLICY_CHOICES.map((c) => (
                <div class={current === c.value ? 'choice on' : 'choice'} key={c.value}>
                  <label>
                    <input type="radio" name={k.key} value={c.value} checked={current === c.value} onChange={() => props.setPolicy(k.key, c.value)} /> <strong>{c.label}</strong>
                  </label>
                  <p class="sentence">{c[k.what]}</p>
                </div>
              ))}
            </div>
          </fieldset>
        );
      })}
      <fieldset class="policy">
        <legend>Slack</legend>
        <label for={slackId}>Steps of slack on learned limits</label>{' '}
        <input id={slackId} class="num" type="number" min={0} max={MAX_SLACK} step={1} value={problem !== null && slackText !== null ? slackText : String(slack)} aria-invalid={problem !== null} onInput={(e) => typeSlack((e.target as HTMLInputElement).value)} />
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : (
          <p class="sentence">{describeSlack(slack)}</p>
        )}
        <p class="hint">For services learned from little traffic, whose learned limits are tight. 0 to {MAX_SLACK}.</p>
      </fieldset>
    </section>
  );
}

function CapsList(props: { title: string; criteria: unknown }) {
  if (props.criteria == null) return <p class="empty">{props.title}: nothing learned yet.</p>;
  return (
    <div class="caps" data-caps={props.title}>
      <h4>{props.title}</h4>
      <ul>
        {describeCaps(props.criteria).map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ul>
    </div>
  );
}
