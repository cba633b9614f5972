// Replays what the Node suite recorded against a Guard core in another runtime (a browser, Deno):
// every reference-vector introspect call, and traffic records decided as `guard check` decides them.
// Plain JavaScript, no Node API: the runtime hands over the modules it imported.

/**
 * @param core      a Core of core/portable.js in this runtime
 * @param check     { decideRecord, toTrafficRecord } of build/js/cli
 * @param input     { calls: [{command, output?, error?}], guardian: spec, records: [record] }
 * @returns         { calls: [{output?, error?}], decisions: [line] }
 */
export function replay(core, check, input) {
  const calls = input.calls.map(({ command }) => {
    try {
      return { output: JSON.stringify(core.introspect(JSON.parse(command))) };
    } catch (err) {
      return { error: err.message };
    }
  });
  const guardian = core.parseGuardian(input.guardian);
  const decisions = input.records.map((r) => JSON.stringify(check.decideRecord(core, guardian, check.toTrafficRecord(r), { maxBody: 1024 * 1024 })));
  const wire = guardian.toWire();
  guardian.dispose();
  return { calls, decisions, wire };
}
