// Wire fixtures of the original (Go output): its canonical empty and default payloads, its example
// sync message (SyncMessageReq) and the GuardianSpec learned from it, with its decide example.
// Objects are written in Go's field order; JSON.stringify of them is Go's compact form.

export const EMPTY_SESSION_PILE_TEXT =
  '{"count":0,"req":{"cip":{"List":null},"hopip":{"List":null},"method":{"set":null},"proto":{"set":null},"mediatype":{"type":{"set":null},"params":null},"contentlength":null,"url":{"val":{"Digits":null,"Letters":null,"Spaces":null,"SpecialChars":null,"NonReadables":null,"Unicodes":null,"Sequences":null,"Flags":0,"UnicodeFlags":null},"segments":null},"qs":{"kv":null},"headers":{"kv":null}},"resp":{"headers":{"kv":null},"mediatype":{"type":{"set":null},"params":null},"contentlength":null},"reqbody":{"faults":{"set":null},"unstructured":null,"structured":null},"respbody":{"faults":{"set":null},"unstructured":null,"structured":null},"envelop":{"responsetime":null,"completiontime":null},"pod":{"tcp4peers":{"List":null},"udp4peers":{"List":null},"udplite4peers":{"List":null},"tcp6peers":{"List":null},"udp6peers":{"List":null},"udplite6peers":{"List":null}}}';

export const EMPTY_GUARDIAN_SPEC_TEXT = '{"configured":null,"samples":0,"control":null}';
export const DEFAULT_GUARDIAN_SPEC_TEXT =
  '{"configured":null,"samples":0,"control":{"alert":true,"block":false,"learn":true,"force":true,"auto":true}}';
export const ZERO_DECISION_TEXT = '{"children":null,"reasons":null,"result":0}';

const kvNull = { vals: null, otherVals: null, otherKeynames: null };
const sv0 = {
  digits: 0, letters: 0, spaces: 0, schars: 0, nonreadables: 0, unicodes: 0, sequences: 0, flags: 0, unicodeFlags: null,
};
const bodyNull = () => ({ faults: { set: null }, unstructured: null, structured: null });
const podNull = () => ({
  tcp4peers: null, udp4peers: null, udplite4peers: null, tcp6peers: null, udp6peers: null, udplite6peers: null,
});

/** Zero SessionDataConfig — the `configured` member of the example GuardianSpec. */
export function zeroSessionConfig(): any {
  return {
    active: false,
    req: {
      cip: null,
      hopip: null,
      method: { set: null },
      proto: { set: null },
      mediatype: { type: { set: null }, params: { ...kvNull } },
      contentlength: null,
      url: { val: { ...sv0 }, segments: null },
      qs: { kv: { ...kvNull } },
      headers: { kv: { ...kvNull } },
    },
    resp: {
      headers: { kv: { ...kvNull } },
      mediatype: { type: { set: null }, params: { ...kvNull } },
      contentlength: null,
    },
    reqbody: bodyNull(),
    respbody: bodyNull(),
    envelop: { responsetime: 0, completiontime: 0 },
    pod: podNull(),
  };
}

const svp = (D: string, L: string, Sc: string, Seq: string, Flags: number) => ({
  Digits: D, Letters: L, Spaces: 'AA==', SpecialChars: Sc, NonReadables: 'AA==', Unicodes: 'AA==', Sequences: Seq, Flags, UnicodeFlags: null,
});

/** The `pile` member of the example SyncMessageReq. */
export function syncPile(): any {
  return {
    count: 1,
    req: {
      cip: { List: ['8.8.4.4'] },
      hopip: { List: null },
      method: { set: ['GET'] },
      proto: { set: ['HTTP/1.1'] },
      mediatype: { type: { set: ['none'] }, params: {} },
      contentlength: 'AA==',
      url: { val: svp('AQ==', 'BA==', 'AA==', 'Ag==', 0), segments: 'Ag==' },
      qs: { kv: { id: svp('AQ==', 'AA==', 'AA==', 'AQ==', 0) } },
      headers: { kv: { Accept: svp('AA==', 'AA==', 'Aw==', 'AQ==', 1073750272) } },
    },
    resp: {
      headers: { kv: { 'Content-Type': svp('AA==', 'CQ==', 'AQ==', 'Aw==', 8192) } },
      mediatype: { type: { set: ['text/plain'] }, params: {} },
      contentlength: 'Ag==',
    },
    reqbody: bodyNull(),
    respbody: bodyNull(),
    envelop: { responsetime: 'AA==', completiontime: 'AQ==' },
    pod: {
      tcp4peers: { List: null },
      udp4peers: { List: null },
      udplite4peers: { List: null },
      tcp6peers: { List: null },
      udp6peers: { List: null },
      udplite6peers: { List: null },
    },
  };
}

/** The `alerts` member of the example SyncMessageReq. */
export function syncAlerts(): any[] {
  return [
    {
      decision: {
        children: {
          HttpRequest: {
            children: {
              ContentLength: { children: {}, reasons: ['Value 3 Not Allowed!'], result: 1 },
            },
            reasons: null,
            result: 1,
          },
        },
        reasons: null,
        result: 1,
      },
      time: 1700000000,
      level: 'Session',
      count: 1,
    },
  ];
}

export function syncMessage(): any {
  return { pile: syncPile(), alerts: syncAlerts(), compromised: false };
}

const svc = (digits: number, letters: number, schars: number, sequences: number, flags: number) => ({
  digits, letters, spaces: 0, schars, nonreadables: 0, unicodes: 0, sequences, flags, unicodeFlags: null,
});

/** The `learned` member of the example GuardianSpec. */
export function learnedSessionConfig(): any {
  return {
    active: true,
    req: {
      cip: [{ IP: '8.8.4.4', Mask: '/////////////////////w==' }],
      hopip: null,
      method: { set: ['GET'] },
      proto: { set: ['HTTP/1.1'] },
      mediatype: { type: { set: ['none'] }, params: { ...kvNull } },
      contentlength: [{ min: 0, max: 0 }],
      url: { val: svc(1, 4, 0, 2, 0), segments: [{ min: 2, max: 2 }] },
      qs: { kv: { vals: { id: svc(1, 0, 0, 1, 0) }, otherVals: null, otherKeynames: null } },
      headers: { kv: { vals: { Accept: svc(0, 0, 3, 1, 1073750272) }, otherVals: null, otherKeynames: null } },
    },
    resp: {
      headers: { kv: { vals: { 'Content-Type': svc(0, 9, 1, 3, 8192) }, otherVals: null, otherKeynames: null } },
      mediatype: { type: { set: ['text/plain'] }, params: { ...kvNull } },
      contentlength: [{ min: 2, max: 2 }],
    },
    reqbody: bodyNull(),
    respbody: bodyNull(),
    envelop: { responsetime: 0, completiontime: 1 },
    pod: podNull(),
  };
}

/** The whole example GuardianSpec. */
export function guardianSpec(): any {
  return {
    configured: zeroSessionConfig(),
    learned: learnedSessionConfig(),
    samples: 1,
    control: { alert: true, block: false, learn: true, force: true, auto: true },
  };
}

/** The example sync message's sample at data-model level (introspect SessionData input). */
export function syncSampleInput(): any {
  return {
    req: { method: 'GET', path: '/api/v1', query: 'id=7', headers: { Accept: ['*/*'] }, cip: '8.8.4.4' },
    resp: { headers: { 'Content-Type': ['text/plain'] }, contentLength: 2 },
    envelop: [1000, 1000, 1001],
  };
}

/** The decide example at data-model level. */
export function decideExampleInput(): any {
  return {
    req: {
      method: 'POST',
      path: '/api/v2/x',
      query: 'id=7&debug=1',
      headers: { Accept: ['*/*'], 'X-Forwarded-For': ['9.9.9.9'] },
      cip: '8.8.4.4',
    },
    resp: { headers: { 'Content-Type': ['text/plain'] }, contentLength: 2 },
    envelop: [1000, 1000, 1001],
  };
}

/** The learned config decides the example (sorted, tag ""). */
export const DECIDE_EXAMPLE =
  '[Req:[Headers:[KeyVal:[Key X-Forwarded-For is not known,],],HopIp:[IP 9.9.9.9 not allowed,],Method:[Unexpected key POST in Set,],QueryString:[KeyVal:[Key debug is not known,],],Url:[Segments:[Counter out of Range: 3,],Val:[Letters:[Limit out of Range: 5,],Sequences:[Limit out of Range: 3,],],],],]';
