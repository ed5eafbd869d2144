import { CancelledError } from '../../core/errors.ts';
import type { ProgressSink } from '../../core/progress.ts';
import type { DepartmentLabel, DepartmentTaxonomy } from '../departments.ts';
import type { KnowledgeBase } from '../knowledge.ts';
import { StageError, type SynthesisBackend } from '../pipeline.ts';
import type { LlmSettings } from '../presets.ts';
import type { Candidate, InstructionScores, SelectedInstruction, SourceDoc } from '../types.ts';
import {
  BudgetExhaustedError,
  ChatClient,
  LlmRequestError,
  type ChatMessage,
  type ClientSeams,
} from './client.ts';
import { parseJsonObject } from './json-repair.ts';
import { costOf, LlmProgress } from './progress.ts';
import {
  classifyPrompt,
  directAnswerPrompt,
  instructionsPrompt,
  judgePrompt,
  longAnswerPrompt,
  repairMessages,
  scorePrompt,
} from './prompts.ts';

/** What the LLM synthesizer needs besides its settings. */
export interface LlmBackendContext {
  /** The knowledge base (source passages carry their condition for provenance). */
  kb: KnowledgeBase;
  /** The department taxonomy offered to the classifier. */
  taxonomy: DepartmentTaxonomy;
  /** Stops sending requests (those already sent may still answer into the cache). */
  signal?: AbortSignal;
  /** Where progress goes: the backend's `onProgress` adds its request figures to each event. */
  onProgress?: ProgressSink;
  /** Test seams for the HTTP client. */
  seams?: ClientSeams;
}

/** Replies that did not parse, per stage: first failures, recovered by one repair request, lost. */
type ParseCounts = Record<string, { failed: number; repaired: number; lost: number }>;

/** Reply length limits per stage, in tokens: JSON verdicts are short, long reasoning is not. */
const MAX_TOKENS: Record<string, number> = {
  instructions: 384,
  scoring: 96,
  classification: 96,
  judge: 64,
  'common-answer': 384,
  'rejected-answer': 384,
  'long-answer': 1536,
};

const int = (x: unknown, lo: number, hi: number): number | undefined => {
  const n = typeof x === 'string' ? Number(x.trim()) : x;
  return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi ? n : undefined;
};

const bool = (x: unknown): boolean | undefined =>
  typeof x === 'boolean'
    ? x
    : typeof x === 'string' && /^(true|false)$/i.test(x.trim())
      ? /^true$/i.test(x.trim())
      : undefined;

/** Creates the LLM synthesizer for `settings`. */
export function createLlmBackend(settings: LlmSettings, ctx: LlmBackendContext): LlmBackend {
  const progress = ctx.onProgress ? new LlmProgress(ctx.onProgress, settings.prices) : undefined;
  return new LlmBackend(new ChatClient(settings, ctx.seams, progress?.answered), ctx, progress);
}

/**
 * The paper's stages as requests to an OpenAI-compatible chat endpoint: instruction
 * generation, scoring (JSON), department classification (JSON), two direct answers picked by
 * a judge score (JSON), long `## Thought` / `## Summarization` answers, and a direct answer as
 * the rejected side of each preference pair (as the paper). A reply that does not parse gets
 * one repair request; parse failures are counted per stage. Budget exhaustion and requests
 * that fail for good drop the item (counted), never the run.
 */
export class LlmBackend implements SynthesisBackend {
  readonly generator: string;
  /** The sink the pipeline should report to: the context's, with request figures added. */
  readonly onProgress: ProgressSink | undefined;
  private readonly parse: ParseCounts = {};

  constructor(
    private readonly client: ChatClient,
    private readonly ctx: LlmBackendContext,
    progress?: LlmProgress,
  ) {
    this.generator = `llm:${client.settings.model}`;
    this.onProgress = progress?.pipeline ?? ctx.onProgress;
  }

  private async call(
    stage: string,
    messages: ChatMessage[],
    extra: { temperature?: number; seed?: number } = {},
  ): Promise<string> {
    try {
      const maxTokens = Math.min(
        MAX_TOKENS[stage] ?? 512,
        this.client.settings.maxTokens ?? Infinity,
      );
      const request = {
        messages,
        temperature: extra.temperature ?? 0,
        max_tokens: maxTokens,
        ...(extra.seed === undefined ? {} : { seed: extra.seed }),
      };
      return await this.client.complete(request, this.ctx.signal);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      if (error instanceof BudgetExhaustedError)
        throw new StageError(stage, 'request budget spent');
      if (error instanceof LlmRequestError) throw new StageError(stage, 'request failed');
      throw error;
    }
  }

  /** Asks, checks the reply with `read`, and asks once more (a different, repair request) if it fails. */
  private async ask<T>(
    stage: string,
    messages: ChatMessage[],
    what: string,
    read: (reply: string) => T | undefined,
    extra = {},
  ): Promise<T> {
    const counts = (this.parse[stage] ??= { failed: 0, repaired: 0, lost: 0 });
    const reply = await this.call(stage, messages, extra);
    const first = read(reply);
    if (first !== undefined) return first;
    counts.failed++;
    const second = read(await this.call(stage, repairMessages(messages, reply, what), extra));
    if (second !== undefined) {
      counts.repaired++;
      return second;
    }
    counts.lost++;
    throw new StageError(stage, 'unparseable reply');
  }

  private json<T>(
    stage: string,
    messages: ChatMessage[],
    what: string,
    read: (o: Record<string, unknown>) => T | undefined,
  ): Promise<T> {
    return this.ask(stage, messages, what, (reply) => {
      const o = parseJsonObject(reply);
      return o ? read(o) : undefined;
    });
  }

  async instructions(doc: SourceDoc): Promise<[Candidate, Candidate]> {
    const facts = {
      ask: 'llm' as const,
      ...(doc.conditionId ? { conditionId: doc.conditionId } : {}),
    };
    return this.json(
      'instructions',
      instructionsPrompt(doc.text),
      'the JSON object {"question1": ..., "question2": ...}',
      (o) => {
        const [a, b] = [o.question1, o.question2];
        return typeof a === 'string' && typeof b === 'string' && a.trim() && b.trim()
          ? ([
              { text: a.trim(), facts },
              { text: b.trim(), facts },
            ] as [Candidate, Candidate])
          : undefined;
      },
    );
  }

  async score(_doc: SourceDoc, candidate: Candidate): Promise<InstructionScores> {
    return this.json(
      'scoring',
      scorePrompt(candidate.text),
      'the JSON object with quality, difficulty, relevance_to_medicine and mention_specific_details',
      (o) => {
        const quality = int(o.quality, 1, 10);
        const difficulty = int(o.difficulty, 1, 10);
        const relevance = int(o.relevance_to_medicine, 1, 6);
        const mentionsDetails = bool(o.mention_specific_details);
        return quality && difficulty && relevance && mentionsDetails !== undefined
          ? { quality, difficulty, relevance, mentionsDetails }
          : undefined;
      },
    );
  }

  async classify(item: SelectedInstruction): Promise<DepartmentLabel> {
    const same = (x: unknown, id: string, name: string): boolean =>
      typeof x === 'string' && [id, name].some((v) => v.toLowerCase() === x.trim().toLowerCase());
    return this.json(
      'classification',
      classifyPrompt(item.text, this.ctx.taxonomy),
      'the JSON object {"department": ..., "subdepartment": ...}',
      (o) => {
        const p = this.ctx.taxonomy.primary.find((d) => same(o.department, d.id, d.name));
        if (!p) return undefined;
        if (typeof o.subdepartment === 'string' && /^none$/i.test(o.subdepartment.trim()))
          return { department: p.id, subdepartment: null };
        const s = p.secondary.find((d) => same(o.subdepartment, d.id, d.name));
        return s ? { department: p.id, subdepartment: s.id } : undefined;
      },
    );
  }

  async directAnswers(item: SelectedInstruction): Promise<[string, string]> {
    const prompt = directAnswerPrompt(item.text);
    const nonEmpty = (r: string): string | undefined => (r.trim() ? r.trim() : undefined);
    const [a, b] = await Promise.all(
      [1, 2].map((seed) =>
        this.ask('common-answer', prompt, 'a direct answer', nonEmpty, { temperature: 0.7, seed }),
      ),
    );
    return [a, b];
  }

  async reward(item: SelectedInstruction, answer: string): Promise<number> {
    return this.json(
      'judge',
      judgePrompt(item.text, answer),
      'the JSON object {"score": <1-10>}',
      (o) => int(o.score, 1, 10),
    );
  }

  async longAnswer(item: SelectedInstruction): Promise<string> {
    return this.ask(
      'long-answer',
      longAnswerPrompt(item.text),
      'an answer with the two sections "## Thought" and "## Summarization"',
      (r) => {
        const t = r
          .trim()
          .replace(/^##\s*Thought\s*\n/, '## Thought\n')
          .replace(/\n##\s*Summarization\s*\n/, '\n## Summarization\n');
        return /^## Thought\n[\s\S]*\n## Summarization\n\S/.test(t) ? t : undefined;
      },
    );
  }

  async rejectedAnswer(
    item: SelectedInstruction,
  ): Promise<{ text: string; kind: 'anchored' | 'direct' }> {
    const text = await this.ask(
      'rejected-answer',
      directAnswerPrompt(item.text),
      'a direct answer',
      (r) => (r.trim() ? r.trim() : undefined),
    );
    return { text, kind: 'direct' };
  }

  stats(): Record<string, unknown> {
    const stats = this.client.stats();
    const cost = costOf(stats, this.client.settings.prices);
    return { ...stats, ...(cost > 0 ? { cost } : {}), parseFailures: structuredClone(this.parse) };
  }
}
