import type { CausalLM } from '../model/causal-lm.ts';
import { renderChat, streamText } from '../model/text-generation.ts';
import { scoringModel, type ScoringModel } from './logprobs.ts';
import { ContextLengthError, type CompletionRequest, type ServedModel } from './served-model.ts';

/**
 * A loaded model as the server sees it: completions and chat, plus echo and logprobs
 * ({@link scoringModel}). Chat prompts are encoded without added special tokens (the template
 * writes them); plain prompts with them (e.g. Llama's BOS).
 */
export function servedModel(model: CausalLM, id: string): ServedModel & ScoringModel {
  const tokenizer = model.tokenizer;
  if (!tokenizer)
    throw new Error('this model folder has no tokenizer.json, so it cannot be served');
  return {
    id,
    renderChat: (messages) => renderChat(tokenizer, messages),
    complete(request: CompletionRequest) {
      const ids = tokenizer.encode(request.prompt, { addSpecialTokens: !request.chat });
      const room = model.config.maxPositions - ids.length;
      if (room <= 0) throw new ContextLengthError(ids.length, model.config.maxPositions);
      return streamText(model, ids, {
        ...request.sampling,
        maxTokens: Math.max(1, Math.min(request.maxTokens, room)),
        stop: request.stop,
        signal: request.signal,
      });
    },
    ...scoringModel(model),
  };
}
