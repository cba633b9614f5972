// What a run tells its user on stderr: each refused record with its file and line, progress on a
// terminal, a closing summary, and (GUARD_CLI_STATS=1) one JSON line of counters and peak memory.
import type { Writable } from 'node:stream';
import type { Core } from '../core/index.js';
import { Progress } from './progress.js';

/** What a command needs from its surroundings; tests and bin/guard.js provide it. */
export interface CommandContext {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  /** Print the stats line at the end of a run (GUARD_CLI_STATS=1). */
  stats: boolean;
  core(): Core;
}

export class RunReport {
  readonly progress: Progress;
  private readonly ctx: CommandContext;
  private readonly command: string;
  /** Records refused (malformed, or refused by the core). */
  errors = 0;

  constructor(ctx: CommandContext, command: string) {
    this.ctx = ctx;
    this.command = command;
    this.progress = new Progress(ctx.stderr, command === 'learn' ? 'learning' : 'checking');
  }

  recordError(where: string, message: string): void {
    this.errors++;
    this.say(`${where}: ${message}`);
  }

  say(text: string): void {
    this.progress.clear();
    this.ctx.stderr.write(`guard ${this.command}: ${text}\n`);
  }

  /** The closing line, and the stats line when asked for. */
  finish(summary: string, counters: Record<string, number>): void {
    this.say(summary);
    if (!this.ctx.stats) return;
    const stats = {
      command: this.command,
      ...counters,
      errors: this.errors,
      seconds: Math.round(this.progress.seconds * 1000) / 1000,
      // resourceUsage().maxRSS is in kilobytes.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    this.ctx.stderr.write(`${JSON.stringify({ guardCliStats: stats })}\n`);
  }
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}
