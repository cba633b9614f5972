// AsciiFlags: 32 bits of special-character use, named in reasons by bit number.
import { Decision, decideInner } from "./decision";

const FLAG_NAMES: StaticArray<string> = [
  "Exclamation", "DoubleQuote", "NumberSign", "DollarSign", "PercentSign", "", "SingleQuote", "RoundBracket",
  "MultiplySign", "PlusSign", "CommaSign", "MinusSign", "DotSign", "DivideSign", "ColonSign", "SemicolonSign",
  "Less/GreaterThanSign", "EqualSign", "QuestionMark", "CommentSign", "ReverseDivideSign", "SquareBracket", "PowerSign", "UnderscoreSign",
  "AccentSign", "PipeSign", "CurlyBracket", "", "", "", "CommentsCombination", "HexCombination",
];

export function decideFlags(profile: u32, config: u32): Decision | null {
  const extra = profile & ~config;
  if (extra == 0) return null;
  let names = "";
  for (let bit = 0; bit < 32; bit++) {
    if ((extra >> bit) & 1) names += FLAG_NAMES[bit] + " ";
  }
  return decideInner(null, "Unexpected Flags " + names + " (0x" + extra.toString(16) + ") in Value");
}

export function flagsScore(f: u32): u32 {
  return <u32>popcnt(f);
}
