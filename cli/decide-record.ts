// One traffic record decided as `guard check` decides it: the request (and the response, when the
// record has one) profiled with the gate's normalisation and decided against every section.
// Runtime-neutral: guard-ui's "try a request" runs this same function in the browser.
import { Section, type Core, type Guardian } from '../core/portable.js';
import { toRequestFields, toResponseFields, type BodyPolicy, type TrafficRecord } from './traffic-record.js';

/** One line of `guard check`'s output. */
export interface Decision {
  allowed: boolean;
  result: number;
  decision: string;
}

/** The decision and, when refused, the decision tree (for explanations). */
export function decideRecord(core: Core, guardian: Guardian, record: TrafficRecord, policy: BodyPolicy): Decision;
export function decideRecord(core: Core, guardian: Guardian, record: TrafficRecord, policy: BodyPolicy, withTree: true): Decision & { tree: unknown };
export function decideRecord(core: Core, guardian: Guardian, record: TrafficRecord, policy: BodyPolicy, withTree = false): Decision & { tree?: unknown } {
  const session = core.newSession();
  try {
    session.profileRequest(toRequestFields(record, policy));
    if (record.response) session.profileResponse(toResponseFields(record.response, policy));
    const result = session.decide(guardian, Section.All);
    if (result === 0) return { allowed: true, result: 0, decision: '' };
    const decision: Decision & { tree?: unknown } = { allowed: false, result, decision: session.decisionString() };
    if (withTree) decision.tree = session.decisionTree();
    return decision;
  } finally {
    session.dispose();
  }
}
