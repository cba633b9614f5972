// Alerts newest first, grouped by what they say (the sorted decision, as the gates de-duplicate
// them), filterable by service and by field, each explained in sentences from its decision and
// the rules in force. Refreshed every few seconds; groups that grew since are marked new.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlertItem, Api, GuardianSpec, MissingPart } from '../api.js';
import { groupAlerts, type AlertGroup } from '../alert-groups.js';
import { Sentence } from '../widgets/sentence.js';
import { explainDecision, type Finding } from '../explain.js';
import { ago } from '../mode.js';

/** The rules the gate decided with: learned when control.auto, else configured. */
export function criteriaOf(spec: GuardianSpec | undefined): unknown {
  if (!spec) return undefined;
  return spec.control?.auto ? spec.learned : spec.configured;
}

export function AlertsView(props: { api: Api; namespace?: string; service?: string; spec?: GuardianSpec }) {
  const [items, setItems] = useState<AlertItem[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [incomplete, setIncomplete] = useState<MissingPart[]>([]);
  const [serviceFilter, setServiceFilter] = useState('');
  const [fieldFilter, setFieldFilter] = useState('');
  const [specs, setSpecs] = useState<Record<string, GuardianSpec>>({});
  const seen = useRef<number>(-1);
  const [freshFrom, setFreshFrom] = useState<number>(Infinity);

  useEffect(() => {
    let stop = false;
    const load = async (): Promise<void> => {
      try {
        const r = await props.api.alerts({ namespace: props.namespace, service: props.service });
        if (stop) return;
        const newest = r.items.reduce((m, a) => Math.max(m, Date.parse(a.receivedAt)), 0);
        if (seen.current >= 0 && newest > seen.current) setFreshFrom(seen.current);
        seen.current = Math.max(seen.current, newest);
        setItems(r.items);
        setIncomplete(r.incomplete ?? []);
        setProblem(null);
      } catch (err) {
        if (!stop) setProblem((err as Error).message);
      }
    };
    void load();
    const timer = setInterval(load, 3000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [props.api, props.namespace, props.service]);

  const groups = useMemo(() => groupAlerts(items ?? []), [items]);

  // The rules of each service alerting, for the sentences (the page of one service has its own).
  useEffect(() => {
    if (props.spec) return;
    for (const g of groups) {
      const k = `${g.namespace}/${g.service}`;
      if (specs[k]) continue;
      specs[k] = { configured: null, samples: 0, control: null };
      props.api.guardian(g.namespace, g.service).then(
        (v) => setSpecs((s) => ({ ...s, [k]: v.spec })),
        () => {},
      );
    }
  }, [groups]);

  const explained = groups.map((g) => ({ g, findings: explainDecision(g.decision, criteriaOf(props.spec ?? specs[`${g.namespace}/${g.service}`])) }));
  const services = [...new Set(groups.map((g) => `${g.namespace}/${g.service}`))].sort();
  const fields = [...new Set(explained.flatMap((e) => e.findings.map((f) => f.where)))].sort();
  const shown = explained.filter(({ g, findings }) => (!serviceFilter || `${g.namespace}/${g.service}` === serviceFilter) && (!fieldFilter || findings.some((f) => f.where === fieldFilter)));
  const now = Date.now();

  return (
    <div class="alerts">
      <div class="filters" role="search">
        {/* Labels beside (not around) the selects: a label around one names it with its chosen option too ("Service all"). */}
        {!props.service && (
          <span>
            <label for="alert-service">Service</label>{' '}
            <select id="alert-service" value={serviceFilter} onChange={(e) => setServiceFilter((e.target as HTMLSelectElement).value)}>
              <option value="">all</option>
              {services.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </span>
        )}
        <span>
          <label for="alert-field">Field</label>{' '}
          <select id="alert-field" value={fieldFilter} onChange={(e) => setFieldFilter((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {fields.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </span>
        <span class="hint" aria-live="polite">
          {items === null ? 'loading…' : `${shown.length} of ${groups.length} kinds of alert, ${items.length} reports; newest first`}
        </span>
      </div>
      {problem && <p class="error" role="alert">{problem}</p>}
      <Incomplete parts={incomplete} what="the alerts of their services" />
      {items !== null && groups.length === 0 && <p class="empty">No alerts received since guard-service started.</p>}
      <ol class="alert-list">
        {shown.map(({ g, findings }) => (
          <AlertCard key={g.key} group={g} findings={findings} fresh={g.lastMs > freshFrom} showService={!props.service} now={now} />
        ))}
      </ol>
    </div>
  );
}

/** A notice naming the guard-service replicas whose part of a view is missing. */
export function Incomplete(props: { parts: readonly MissingPart[]; what: string }) {
  if (props.parts.length === 0) return null;
  return (
    <p class="warning" role="status">
      Not shown: {props.what} on {props.parts.length === 1 ? 'one guard-service replica' : `${props.parts.length} guard-service replicas`} that did not answer (
      {props.parts.map((p) => p.replica).join(', ')}). Shown again once they answer or their services move to another replica.{' '}
      <span class="hint">{props.parts.map((p) => p.error).join('; ')}</span>
    </p>
  );
}

function AlertCard(props: { group: AlertGroup; findings: Finding[]; fresh: boolean; showService: boolean; now: number }) {
  const { group: g, findings } = props;
  return (
    <li class={`alert-card${props.fresh ? ' new' : ''}`}>
      <div class="alert-head">
        {props.fresh && <span class="badge new">new</span>}
        {props.showService && (
          <a href={`#/service/${g.namespace}/${g.service}/alerts`}>
            {g.namespace}/{g.service}
          </a>
        )}
        <span>
          {g.occurrences.toLocaleString('en')} time{g.occurrences === 1 ? '' : 's'}
        </span>
        <span class="hint">
          last {ago(g.lastAt, props.now)}, first {ago(g.firstAt, props.now)} · {g.level === 'Gate' ? 'the pod' : 'requests'} · pods {g.pods.join(', ')}
        </span>
      </div>
      <ul class="findings">
        {findings.map((f, i) => (
          <li key={i} class="finding">
            <Sentence class="sentence" text={f.sentence} />
            {f.rule && <Sentence class="hint" text={` Rule: ${f.rule}.`} />}
          </li>
        ))}
      </ul>
      <details>
        <summary>The decision as the gate wrote it</summary>
        <pre>{findings.map((f) => `${f.tags.join(' › ')}: ${f.reason}`).join('\n')}</pre>
      </details>
    </li>
  );
}
