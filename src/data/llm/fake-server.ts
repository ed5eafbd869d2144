import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '../../core/hash.ts';

/** What the fake server does with one attempt. */
export type Fault =
  'ok' | 'http-500' | 'http-429' | 'hang' | 'fenced-json' | 'broken-json' | 'garbage-body';

/** Decides the fault for an attempt: `attempt` counts earlier attempts with the same body (0 = first). */
export type FaultPlan = (info: {
  body: string;
  attempt: number;
  index: number;
  stage: string;
}) => Fault;

/** Per-body request accounting, kept by the server. */
export interface BodyLog {
  /** Attempts received. */
  attempts: number;
  /** Attempts answered 200 with a well-formed chat completion (the paid ones). */
  successes: number;
}

/** How the fake server behaves. */
export interface FakeServerOptions {
  /** Which fault each attempt meets (default: none). */
  plan?: FaultPlan;
  /** The Retry-After header sent with 500 and 429 (default `0`). */
  retryAfter?: string;
  /** Delay before answering, in milliseconds (to make concurrency observable). */
  latencyMs?: number;
}

/** A running fake server. */
export interface FakeLlmServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** Accounting by request-body hash. */
  bodies: Map<string, BodyLog>;
  /** Total attempts received. */
  requests(): number;
  /** Most requests the server was handling at once. */
  maxInFlight(): number;
  /** Stops the server, dropping hung connections. */
  close(): Promise<void>;
}

/** Whitespace-separated words: the fake's token count in `usage`. */
const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;

function stageOf(prompt: string): string {
  if (prompt.includes('could not be read as')) return 'repair';
  if (prompt.includes('write two different questions')) return 'instructions';
  if (prompt.includes('Evaluate the query')) return 'scoring';
  if (prompt.includes('Which hospital department')) return 'classification';
  if (prompt.includes('Rate how well the answer')) return 'judge';
  if (prompt.includes('reasoning step by step, then summarising')) return 'long-answer';
  if (prompt.includes('directly and concisely')) return 'direct-answer';
  return 'unknown';
}

/** A deterministic, plausible reply for each stage of the synthesizer's prompts. */
function replyFor(stage: string, prompt: string, repairOf?: string): string {
  const h = parseInt(sha256(prompt).slice(0, 8), 16);
  const subject = (prompt.split('\n').pop() ?? '').split(/\s+/).slice(0, 8).join(' ');
  switch (repairOf ?? stage) {
    case 'instructions':
      return JSON.stringify({
        question1: `What are the key clinical features described as: ${subject}?`,
        question2: `Explain step by step how to reach the diagnosis from: ${subject}?`,
      });
    case 'scoring':
      return JSON.stringify({
        quality: 5 + (h % 5),
        difficulty: prompt.includes('step by step') ? 9 + (h % 2) : 3 + (h % 5),
        relevance_to_medicine: 3 + (h % 4),
        mention_specific_details: h % 17 === 0 ? 'True' : 'False',
      });
    case 'classification':
      return JSON.stringify({
        department: 'Internal Medicine',
        subdepartment: h % 2 ? 'Cardiology' : 'None',
      });
    case 'judge':
      return JSON.stringify({ score: 1 + (h % 10) });
    case 'long-answer':
      return `## Thought\nThe findings are weighed one by one (${h % 97}).\n\n## Summarization\nThe most likely answer follows from the findings.`;
    default:
      return `A direct answer (${h % 1000}).`;
  }
}

/**
 * An OpenAI-compatible chat endpoint that understands the synthesizer's prompts and injects
 * faults by plan: 500s, 429 with Retry-After, hung requests, replies wrapped in code fences
 * with trailing commas, unparseable replies, and non-JSON bodies. It counts attempts and
 * successes per exact request body, so tests can prove nothing paid was sent twice, and
 * reports `usage` with one token per word.
 */
export async function startFakeLlmServer(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  const plan = options.plan ?? (() => 'ok');
  const bodies = new Map<string, BodyLog>();
  let total = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body = '';
    for await (const chunk of req) body += chunk;
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.on('close', () => inFlight--);
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const key = sha256(body);
    const log = bodies.get(key) ?? { attempts: 0, successes: 0 };
    bodies.set(key, log);
    const attempt = log.attempts++;
    const index = total++;
    const request = JSON.parse(body) as { messages: { role: string; content: string }[] };
    const users = request.messages.filter((m) => m.role === 'user');
    const stage = stageOf(users[users.length - 1].content);
    const fault = plan({ body, attempt, index, stage });
    if (fault === 'hang') return;
    if (fault === 'http-500' || fault === 'http-429') {
      res.writeHead(fault === 'http-500' ? 500 : 429, {
        'content-type': 'application/json',
        'retry-after': options.retryAfter ?? '0',
      });
      res.end(JSON.stringify({ error: { message: 'injected fault' } }));
      return;
    }
    if (fault === 'garbage-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices": [ truncated');
      return;
    }
    const original = stage === 'repair' ? stageOf(users[0].content) : undefined;
    let content = replyFor(stage, users[0].content, original);
    if (fault === 'fenced-json') content = '```json\n' + content.replace(/}$/, ',}') + '\n```';
    if (fault === 'broken-json')
      content = 'Sure! Here is what you asked for: quality high, difficulty medium.';
    log.successes++;
    const promptTokens = request.messages.reduce((n, m) => n + words(m.content), 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `fake-${index}`,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: words(content) },
      }),
    );
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    bodies,
    requests: () => total,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
