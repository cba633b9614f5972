// "Try a request": a pasted request decided in the browser by the same wasm core and the same
// record readers as `guard check`, against the saved Guardian or the unsaved draft; the result is
// shown as `guard check` prints it, with the rules that refused it in sentences.
import { useState } from 'preact/hooks';
import type { GuardianView } from '../api.js';
import { browserCore } from '../core-loader.js';
import { Sentence } from '../widgets/sentence.js';
import { explainDecision } from '../explain.js';
import { checkLine, readPasted, tryRecords, type Format, type Tried } from '../try-request.js';
import { criteriaOf } from './alerts.js';
import { POLICY_WORDS, policyOf, routesOf, slackOf } from '../routes-model.js';
import type { Draft } from './service.js';

const EXAMPLE = `GET /shop/items/101?lang=en HTTP/1.1
Host: shop.example
Accept: application/json
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0`;

export function TryTab(props: { base: GuardianView; draft: Draft; dirty: boolean }) {
  const [text, setText] = useState('');
  const [against, setAgainst] = useState<'saved' | 'draft'>('saved');
  const [results, setResults] = useState<{ format: Format; items: Tried[] } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const spec = against === 'draft' && props.dirty ? { ...props.base.spec, configured: props.draft.configured, control: props.draft.control } : props.base.spec;

  const run = async (): Promise<void> => {
    setProblem(null);
    const core = await browserCore();
    let guardian;
    try {
      guardian = core.parseGuardian(spec);
    } catch (err) {
      return setProblem(`The Guardian cannot be loaded: ${(err as Error).message}`);
    }
    try {
      const pasted = readPasted(text);
      setResults({ format: pasted.format, items: tryRecords(core, guardian, pasted.items) });
    } finally {
      guardian.dispose();
    }
  };

  return (
    <div class="try">
      <p>
        Paste a request: raw HTTP, a traffic record (a line of <code>guard check</code>'s input; JSON Lines for several), or a HAR file or entry. It is decided here, in this
        browser, by the same core and the same readers as <code>guard check</code>, with the {criteriaOf(spec) === spec.learned ? 'learned' : 'configured'} rules (the ones control selects).
        {routesOf(criteriaOf(spec)) !== null &&
          ` Their route table is checked: unknown routes ${POLICY_WORDS[policyOf(spec.control, 'unknownRoute')]}, unknown parameter names ${POLICY_WORDS[policyOf(spec.control, 'unknownParam')]}.`}
        {slackOf(spec.control) > 0 && ` Learned limits with ${slackOf(spec.control)} steps of slack.`}
      </p>
      <label for="try-text">Request</label>
      <textarea id="try-text" spellcheck={false} value={text} placeholder={EXAMPLE} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div class="try-tools">
        {props.dirty && (
          <span role="radiogroup" aria-label="Rules to decide with">
            <label>
              <input type="radio" name="against" checked={against === 'saved'} onChange={() => setAgainst('saved')} /> saved rules
            </label>{' '}
            <label>
              <input type="radio" name="against" checked={against === 'draft'} onChange={() => setAgainst('draft')} /> my unsaved changes
            </label>
          </span>
        )}{' '}
        <button type="button" class="primary" onClick={run}>
          Decide
        </button>{' '}
        <button type="button" onClick={() => setText(EXAMPLE)}>
          Use an example
        </button>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {results && (
        <div class="try-results" aria-live="polite">
          <p class="hint">Read as {results.format}.</p>
          {results.items.map((item, i) => (
            <div key={i} class={`try-result ${item.decision ? (item.decision.allowed ? 'allowed' : 'refused') : 'error'}`}>
              <h4>
                {item.label}:{' '}
                {item.decision ? (item.decision.allowed ? 'allowed' : spec.control?.block && spec.control.alert ? 'refused (blocked)' : 'alert (would be blocked with Block on)') : 'not a request'}
              </h4>
              {item.error && <p class="error">{item.error}</p>}
              {item.decision && (
                <>
                  <p>
                    <span class="hint">guard check prints:</span> <code class="check-line">{checkLine(item.decision)}</code>
                  </p>
                  {!item.decision.allowed && (
                    <ul class="findings">
                      {explainDecision(item.decision.tree, criteriaOf(spec)).map((f, j) => (
                        <li key={j} class="finding">
                          <Sentence class="sentence" text={f.sentence} />
                          {f.rule && <Sentence class="hint" text={` Rule that refused it: ${f.rule}.`} />}
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              )}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
