import { constantScalar, sumToShape, type GradRule } from './grad-util.ts';
import type { Tensor } from './graph.ts';
import {
  add,
  cos,
  div,
  erf,
  exp,
  greater,
  log,
  mul,
  neg,
  pow,
  sigmoid,
  sin,
  sub,
  sum,
  tanh,
  where,
} from './ops-math.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Gradient rules of the elementwise arithmetic and unary ops. */
export const MATH_RULES: Record<string, GradRule> = {
  Add: ({ inputs: [a, b] }, [g], needs) => [
    needs[0] ? sumToShape(g!, a!.shape) : undefined,
    needs[1] ? sumToShape(g!, b!.shape) : undefined,
  ],
  Sub: ({ inputs: [a, b] }, [g], needs) => [
    needs[0] ? sumToShape(g!, a!.shape) : undefined,
    needs[1] ? neg(sumToShape(g!, b!.shape)) : undefined,
  ],
  Mul: ({ inputs: [a, b] }, [g], needs) => [
    needs[0] ? sumToShape(mul(g!, b!), a!.shape) : undefined,
    needs[1] ? sumToShape(mul(g!, a!), b!.shape) : undefined,
  ],
  Div: ({ inputs: [a, b], outputs: [y] }, [g], needs) => [
    needs[0] ? sumToShape(div(g!, b!), a!.shape) : undefined,
    needs[1] ? sumToShape(neg(div(mul(g!, y), b!)), b!.shape) : undefined,
  ],
  Pow: ({ inputs: [a, e], outputs: [y] }, [g], needs) => [
    needs[0] ? sumToShape(mul(g!, powDerivative(a!, e!)), a!.shape) : undefined,
    needs[1] ? sumToShape(mul(mul(g!, y), log(a!)), e!.shape) : undefined,
  ],
  Sum: ({ inputs }, [g], needs) =>
    inputs.map((x, k) => (needs[k] ? sumToShape(g!, x!.shape) : undefined)),
  Neg: (_, [g]) => [neg(g!)],
  Identity: (_, [g]) => [g],
  Cast: (_, [g]) => [g],
  Sqrt: ({ outputs: [y] }, [g]) => [div(mul(g!, 0.5), y)],
  Reciprocal: ({ outputs: [y] }, [g]) => [neg(mul(g!, mul(y, y)))],
  Exp: ({ outputs: [y] }, [g]) => [mul(g!, y)],
  Log: ({ inputs: [x] }, [g]) => [div(g!, x!)],
  Tanh: ({ outputs: [y] }, [g]) => [mul(g!, sub(1, mul(y, y)))],
  Sigmoid: ({ outputs: [y] }, [g]) => [mul(g!, mul(y, sub(1, y)))],
  Relu: ({ outputs: [y] }, [g]) => [where(greater(y, 0), g!, 0)],
  Erf: ({ inputs: [x] }, [g]) => [mul(g!, mul(exp(neg(mul(x!, x!))), 2 / Math.sqrt(Math.PI)))],
  Sin: ({ inputs: [x] }, [g]) => [mul(g!, cos(x!))],
  Cos: ({ inputs: [x] }, [g]) => [neg(mul(g!, sin(x!)))],
  Where: ({ inputs: [c, a, b] }, [g], needs) => [
    undefined,
    needs[1] ? sumToShape(where(c!, g!, 0), a!.shape) : undefined,
    needs[2] ? sumToShape(where(c!, 0, g!), b!.shape) : undefined,
  ],
  Gelu: ({ inputs: [x], attrs }, [g]) => [
    mul(g!, attrs.approximate?.value === 'tanh' ? geluTanhDerivative(x!) : geluDerivative(x!)),
  ],
};

/** d(a^e)/da, folding a constant exponent (`x^2` -> `2x`). */
function powDerivative(a: Tensor, e: Tensor): Tensor {
  const k = constantScalar(e);
  if (k === 2) return mul(a, 2);
  if (k !== undefined) return mul(pow(a, k - 1), k);
  return mul(pow(a, sub(e, 1)), e);
}

/**
 * d/dx of x·Φ(x) = Φ(x) + x·φ(x) = 0.5·erf(u) + x·exp(-u²)/√(2π) + 0.5 with u = x/√2,
 * arranged so each full-size pass is one op (nine of them).
 */
export function geluDerivative(x: Tensor): Tensor {
  const u = mul(x, Math.SQRT1_2);
  const xPdf = mul(x, exp(neg(mul(u, u))));
  return sum([
    mul(erf(u), 0.5),
    mul(xPdf, 1 / Math.sqrt(2 * Math.PI)),
    x.graph.scalar(0.5, x.dtype),
  ]);
}

/** d/dx of the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). */
function geluTanhDerivative(x: Tensor): Tensor {
  const x2 = mul(x, x);
  const u = mul(mul(x, add(mul(x2, 0.044715), 1)), SQRT_2_OVER_PI);
  const t = tanh(u);
  const du = mul(add(mul(x2, 3 * 0.044715), 1), SQRT_2_OVER_PI);
  return add(mul(add(t, 1), 0.5), mul(mul(mul(x, sub(1, mul(t, t))), du), 0.5));
}

/** SiLU's derivative s·(1 + x·(1 - s)) from x and s = sigmoid(x). */
export function siluDerivative(x: Tensor, s: Tensor = sigmoid(x)): Tensor {
  return mul(s, add(mul(x, sub(1, s)), 1));
}
