// The services at a glance: mode in words, samples, when last learned, alerts in the last hour and
// day, and how ready each is to block; a search box to find one.
import { useEffect, useState } from 'preact/hooks';
import type { Api, Overview } from '../api.js';
import { ago, EARLIER, lastLearned, modeOf, readiness, rulesInForce } from '../mode.js';
import { Incomplete } from './alerts.js';

export function ServicesView(props: { api: Api }) {
  const [data, setData] = useState<Overview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  useEffect(() => {
    let stop = false;
    const load = (): void =>
      void props.api.overview().then(
        (d) => !stop && (setData(d), setProblem(null)),
        (err: Error) => !stop && setProblem(err.message),
      );
    load();
    const timer = setInterval(load, 5000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [props.api]);
  if (problem) return <p class="error" role="alert">{problem}</p>;
  if (!data) return <p aria-busy="true">Loading services…</p>;
  const now = Date.parse(data.now);
  const observedMs = now - Date.parse(data.serviceStartedAt);
  const items = data.items.filter((s) => `${s.namespace}/${s.service}`.includes(query.trim().toLowerCase()));
  return (
    <div class="services">
      <h2>Services</h2>
      <label for="find-service">Find a service</label>{' '}
      <input id="find-service" type="search" value={query} placeholder="namespace/name" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
      <p class="hint">
        Alerts are those guard-service saw since it started ({ago(data.serviceStartedAt, now)}); learning times are kept with the learned
        rules.
      </p>
      <Incomplete parts={data.incomplete ?? []} what="the alerts and learning times of their services" />
      {data.items.length === 0 ? (
        <p class="empty">No Guardians yet: a service appears here once its gate has synced.</p>
      ) : (
        <table class="service-table">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Mode</th>
              <th scope="col">Samples</th>
              <th scope="col">Last learned</th>
              <th scope="col">Alerts 1 h</th>
              <th scope="col">Alerts 24 h</th>
              <th scope="col">Ready to block?</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => {
              const r = readiness({
                control: s.control,
                samples: s.samples,
                hasLearned: s.hasLearned,
                hasConfigured: s.hasConfigured,
                learnedReadiness: s.readiness ?? null,
                alertsLastDay: s.alerts.lastDay.occurrences,
                observedMs,
              });
              const learned = lastLearned(s.lastLearnedAt, s.samples, now);
              return (
                <tr key={`${s.namespace}/${s.service}`}>
                  <th scope="row">
                    <a href={`#/service/${s.namespace}/${s.service}/overview`}>
                      {s.namespace}/{s.service}
                    </a>
                  </th>
                  <td>
                    {modeOf(s.control)}
                    <span class="hint"> with the {rulesInForce(s.control)}</span>
                  </td>
                  <td class="num">{s.samples.toLocaleString('en')}</td>
                  <td title={learned === 'earlier' ? EARLIER : undefined}>{learned}</td>
                  <td class="num">{s.alerts.lastHour.occurrences.toLocaleString('en')}</td>
                  <td class="num">{s.alerts.lastDay.occurrences.toLocaleString('en')}</td>
                  <td class={`readiness ${r.level}`}>{r.text}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
