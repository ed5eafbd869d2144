import { isFloat, nodeName, type CustomGradient, type Node, type Tensor } from './graph.ts';
import { GRAD_RULES } from './grad-rules.ts';
import { cast, sum } from './ops-math.ts';
import { shape } from './ops-shape.ts';
import { constantOfShape } from './ops-index.ts';

/** Something autodiff steps through backwards: a primitive node or a composite op. */
type Step = { kind: 'node'; node: Node } | { kind: 'custom'; custom: CustomGradient };

function stepOf(t: Tensor): Step | undefined {
  if (t.customGradient) return { kind: 'custom', custom: t.customGradient };
  return t.producer ? { kind: 'node', node: t.producer } : undefined;
}

function stepInputs(s: Step): readonly (Tensor | undefined)[] {
  return s.kind === 'node' ? s.node.inputs : s.custom.inputs;
}

function stepOutputs(s: Step): readonly Tensor[] {
  return s.kind === 'node' ? s.node.outputs : s.custom.outputs;
}

function stepKey(s: Step): object {
  return s.kind === 'node' ? s.node : s.custom;
}

/** Options for {@link gradients}. */
export interface GradientOptions {
  /** The gradient flowing into `loss` (default: ones, i.e. d loss / d loss). */
  seed?: Tensor;
  /**
   * Treat `wrt` as leaves: a gradient stops at them instead of also flowing on into what they
   * were computed from (a caller that differentiates a piece of a graph, whose own caller
   * carries the gradients further back). Default false.
   */
  leaves?: boolean;
}

/**
 * Reverse-mode automatic differentiation: appends to `loss`'s graph the nodes computing
 * d(sum of loss)/d(each of `wrt`), and returns them in `wrt`'s order (undefined for a tensor
 * the loss does not depend on). Only steps between `wrt` and `loss` are differentiated;
 * integer tensors never carry gradients; fan-out gradients are summed.
 */
export function gradients(
  loss: Tensor,
  wrt: readonly Tensor[],
  options: GradientOptions = {},
): (Tensor | undefined)[] {
  if (!isFloat(loss.dtype)) throw new Error(`gradients: loss must be floating point, got ${loss}`);
  const targets = new Set(wrt);
  const steps = collectSteps(loss);
  const needs = new Map<Tensor, boolean>();
  const requires = (t: Tensor | undefined): boolean => !!t && (needs.get(t) ?? false);
  for (const t of wrt) needs.set(t, isFloat(t.dtype));
  // Forward pass in topological order: which tensors depend on a `wrt` tensor.
  for (const s of [...steps].reverse()) {
    const anyInput = stepInputs(s).some((i) => requires(i));
    for (const o of stepOutputs(s)) if (!targets.has(o)) needs.set(o, anyInput && isFloat(o.dtype));
  }
  const partials = new Map<Tensor, Tensor[]>();
  const push = (t: Tensor, g: Tensor): void => {
    const list = partials.get(t);
    if (list) list.push(g);
    else partials.set(t, [g]);
  };
  push(loss, options.seed ?? onesLike(loss));
  for (const s of steps) {
    const outs = stepOutputs(s);
    if (!outs.some((o) => requires(o))) continue;
    const gradOuts = outs.map((o) =>
      options.leaves && targets.has(o) ? undefined : total(partials.get(o)),
    );
    if (gradOuts.every((g) => g === undefined)) continue;
    const inputs = stepInputs(s);
    const need = inputs.map((i) => requires(i) && !!i);
    if (!need.some(Boolean)) continue;
    const grads =
      s.kind === 'custom'
        ? s.custom.backward(gradOuts, need)
        : applyRule(s.node, gradOuts, need, loss);
    inputs.forEach((input, k) => {
      const g = grads[k];
      if (input && need[k] && g) push(input, g.dtype === input.dtype ? g : cast(g, input.dtype));
    });
  }
  return wrt.map((t) => total(partials.get(t)));
}

/** Steps that `loss` depends on, in reverse topological order (consumers before producers). */
function collectSteps(loss: Tensor): Step[] {
  const seen = new Set<object>();
  const steps: { step: Step; order: number }[] = [];
  const stack: Tensor[] = [loss];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const s = stepOf(t);
    if (!s || seen.has(stepKey(s))) continue;
    seen.add(stepKey(s));
    steps.push({ step: s, order: Math.max(...stepOutputs(s).map((o) => o.id)) });
    for (const i of stepInputs(s)) if (i) stack.push(i);
  }
  return steps.sort((a, b) => b.order - a.order).map((s) => s.step);
}

function applyRule(
  node: Node,
  gradOuts: (Tensor | undefined)[],
  need: boolean[],
  loss: Tensor,
): (Tensor | undefined)[] {
  const key = node.domain ? `${node.domain}:${node.op}` : node.op;
  const rule = GRAD_RULES[key];
  if (!rule) {
    throw new Error(
      `gradients: no gradient rule for op '${key}' (node ${nodeName(node)}) on the path to '${loss.name}'`,
    );
  }
  return rule(node, gradOuts, need);
}

function total(list: Tensor[] | undefined): Tensor | undefined {
  if (!list || list.length === 0) return undefined;
  return sum(list);
}

function onesLike(t: Tensor): Tensor {
  if (t.rank === 0) return t.graph.scalar(1, t.dtype);
  const s = t.shape.every((d) => typeof d === 'number')
    ? t.graph.int64s(t.shape as number[])
    : shape(t);
  return constantOfShape(s, 1, t.dtype);
}
