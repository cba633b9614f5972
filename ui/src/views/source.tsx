// The YAML / JSON tab: configured and control as text, for those who prefer it. Applied to the
// draft (checked by the core like any edit) only when it parses; YAML is loaded on first use.
import { useEffect, useState } from 'preact/hooks';
import type { Draft } from './service.js';

export function SourceTab(props: { draft: Draft; setDraft(d: Draft): void }) {
  const [format, setFormat] = useState<'yaml' | 'json'>('yaml');
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const value = { control: props.draft.control, configured: props.draft.configured };

  useEffect(() => {
    let current = true;
    if (format === 'json') setText(JSON.stringify(value, null, 2));
    else void import('yaml').then((y) => current && setText(y.stringify(value)));
    setProblem(null);
    return () => {
      current = false;
    };
  }, [format, props.draft]);

  const apply = async (): Promise<void> => {
    let parsed: unknown;
    try {
      parsed = format === 'json' ? JSON.parse(text) : (await import('yaml')).parse(text);
    } catch (err) {
      return setProblem(`Not applied: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return setProblem('Not applied: give an object with control and configured');
    const p = parsed as Partial<Draft>;
    props.setDraft({ configured: 'configured' in p ? p.configured : props.draft.configured, control: 'control' in p ? (p.control ?? null) : props.draft.control });
    setProblem(null);
  };

  return (
    <div class="source">
      <div role="radiogroup" aria-label="Format">
        {(['yaml', 'json'] as const).map((f) => (
          <label key={f}>
            <input type="radio" name="format" checked={format === f} onChange={() => setFormat(f)} /> {f.toUpperCase()}
          </label>
        ))}
      </div>
      <label for="source-text" class="sr-only">
        Configured rules and control as {format.toUpperCase()}
      </label>
      <textarea id="source-text" spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div>
        <button type="button" onClick={apply}>
          Apply to the draft
        </button>{' '}
        <span class="hint">Learned rules and samples belong to the learner and are not edited here. Save from the bar above.</span>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
