// A sentence of explain.ts with its `quoted` parts (keys, characters, values) set as code.
export function Sentence(props: { text: string; class?: string }) {
  const parts = props.text.split(/`([^`]+)`/);
  return <span class={props.class}>{parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p))}</span>;
}
