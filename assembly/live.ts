// A session in flight: its profile, which sections were profiled, and the decision accumulated
// over the stages decided so far (a re-decided section replaces its previous verdict).
import { Decision } from "./model/decision";
import { PodProfile } from "./model/pod";
import { SessionDataConfig, SessionDataProfile } from "./model/session";

const EMPTY_POD = new PodProfile();

const SECTION_TAGS: StaticArray<string> = ["Req", "Resp", "ReqBody", "RespBody", "Envelop", "Pod"];

function sectionOfTag(tag: string): i32 {
  for (let i = 0; i < SECTION_TAGS.length; i++) if (SECTION_TAGS[i] == tag) return 1 << i;
  return 0;
}

export class LiveSession {
  profile: SessionDataProfile = new SessionDataProfile();
  profiled: i32 = 0;
  decision: Decision | null = null;

  /** Make a freed session ready for reuse: nothing of the previous exchange may leak into it. */
  reset(): void {
    const p = this.profile;
    p.reqbody.reset();
    p.respbody.reset();
    p.envelop.responseTime = 0;
    p.envelop.completionTime = 0;
    p.pod = EMPTY_POD;
    this.profiled = 0;
    this.decision = null;
  }

  decide(criteria: SessionDataConfig, sections: i32): i32 {
    const fresh = criteria.decide(this.profile, sections & this.profiled);
    const old = this.decision;
    if (fresh == null && old == null) return 0;
    const merged = Decision.fresh();
    if (old != null && old.tags != null) {
      const tags = old.tags!;
      const kids = old.kids!;
      for (let i = 0; i < tags.length; i++) {
        if ((sectionOfTag(tags[i]) & sections) != 0) continue;
        merged.tags!.push(tags[i]);
        merged.kids!.push(kids[i]);
        merged.result += kids[i].result;
      }
    }
    if (fresh != null && fresh.tags != null) {
      const tags = fresh.tags!;
      const kids = fresh.kids!;
      for (let i = 0; i < tags.length; i++) {
        merged.tags!.push(tags[i]);
        merged.kids!.push(kids[i]);
        merged.result += kids[i].result;
      }
    }
    this.decision = merged.result > 0 ? merged : null;
    return merged.result;
  }

  result(): i32 {
    const d = this.decision;
    return d == null ? 0 : d.result;
  }
}
