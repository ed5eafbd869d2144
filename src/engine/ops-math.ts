import { broadcastShapes, formatShape, type Shape } from './dims.ts';
import { graphOf, isFloat, int, Tensor, type DType } from './graph.ts';

/** A tensor, or a number that becomes a scalar constant of the other operand's dtype. */
export type TensorLike = Tensor | number;

function lift(x: TensorLike, like: Tensor): Tensor {
  return x instanceof Tensor ? x : like.graph.scalar(x, like.dtype);
}

function broadcast(op: string, tensors: readonly Tensor[]): Shape {
  let shape: Shape = tensors[0].shape;
  for (const t of tensors.slice(1)) {
    const next = broadcastShapes(shape, t.shape);
    if (!next) {
      throw new Error(
        `${op}: shapes do not broadcast: ${tensors.map((x) => formatShape(x.shape)).join(' x ')}`,
      );
    }
    shape = next;
  }
  return shape;
}

function binary(op: string, a: TensorLike, b: TensorLike, outDtype?: DType): Tensor {
  const g = graphOf(op, [a, b]);
  const ta = a instanceof Tensor ? a : lift(a, b as Tensor);
  const tb = lift(b, ta);
  if (op !== 'Pow' && ta.dtype !== tb.dtype) {
    throw new Error(`${op}: dtypes differ: ${ta.dtype} and ${tb.dtype}`);
  }
  const shape = broadcast(op, [ta, tb]);
  return g.addNode(op, [ta, tb], {}, [{ dtype: outDtype ?? ta.dtype, shape }])[0];
}

/** Elementwise `a + b` with broadcasting. */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('Add', a, b);
/** Elementwise `a - b` with broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('Sub', a, b);
/** Elementwise `a * b` with broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('Mul', a, b);
/** Elementwise `a / b` with broadcasting. */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('Div', a, b);
/** Elementwise `a ** b` with broadcasting. */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('Pow', a, b);
/** Elementwise `a == b` (bool). */
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary('Equal', a, b, 'bool');
/** Elementwise `a < b` (bool). */
export const less = (a: TensorLike, b: TensorLike): Tensor => binary('Less', a, b, 'bool');
/** Elementwise `a > b` (bool). */
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary('Greater', a, b, 'bool');
/** Elementwise logical and of two bool tensors. */
export const and = (a: Tensor, b: Tensor): Tensor => binary('And', a, b, 'bool');
/** Elementwise maximum of two tensors. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('Max', a, b);
/** Elementwise minimum of two tensors. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('Min', a, b);

function unary(op: string, x: Tensor, attrs = {}): Tensor {
  return x.graph.addNode(op, [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** Elementwise square root. */
export const sqrt = (x: Tensor): Tensor => unary('Sqrt', x);
/** Elementwise `1 / x`. */
export const reciprocal = (x: Tensor): Tensor => unary('Reciprocal', x);
/** Elementwise `-x`. */
export const neg = (x: Tensor): Tensor => unary('Neg', x);
/** Elementwise `e^x`. */
export const exp = (x: Tensor): Tensor => unary('Exp', x);
/** Elementwise natural logarithm. */
export const log = (x: Tensor): Tensor => unary('Log', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('Tanh', x);
/** Elementwise error function (float32 and float16 only in ONNX Runtime). */
export const erf = (x: Tensor): Tensor => unary('Erf', x);
/** Elementwise logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => unary('Sigmoid', x);
/** Elementwise `max(x, 0)`. */
export const relu = (x: Tensor): Tensor => unary('Relu', x);
/** Elementwise sine. */
export const sin = (x: Tensor): Tensor => unary('Sin', x);
/** Elementwise cosine. */
export const cos = (x: Tensor): Tensor => unary('Cos', x);
/** Elementwise logical not of a bool tensor. */
export const not = (x: Tensor): Tensor => unary('Not', x);
/** A copy of `x` (an alias in the graph). */
export const identity = (x: Tensor): Tensor => unary('Identity', x);

/** Converts `x` to another element type. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const t = x.graph.addNode('Cast', [x], { to: int(onnxType(dtype)) }, [
    { dtype, shape: x.shape },
  ])[0];
  if (x.value && (dtype === 'int64' || dtype === 'int32')) t.value = x.value;
  return t;
}

/** Elementwise `cond ? a : b` with broadcasting over all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`where: condition must be bool, got ${cond}`);
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
  if (!like) throw new Error('where: a or b must be a tensor');
  const ta = lift(a, like);
  const tb = lift(b, like);
  if (ta.dtype !== tb.dtype) throw new Error(`where: dtypes differ: ${ta.dtype} and ${tb.dtype}`);
  const shape = broadcast('where', [cond, ta, tb]);
  return cond.graph.addNode('Where', [cond, ta, tb], {}, [{ dtype: ta.dtype, shape }])[0];
}

/** The elementwise sum of several tensors (with broadcasting). */
export function sum(tensors: readonly Tensor[]): Tensor {
  if (tensors.length === 0) throw new Error('sum: no tensors');
  if (tensors.length === 1) return tensors[0];
  if (tensors.length === 2) return add(tensors[0], tensors[1]);
  const shape = broadcast('sum', tensors);
  return tensors[0].graph.addNode('Sum', tensors, {}, [{ dtype: tensors[0].dtype, shape }])[0];
}

/** The ONNX TensorProto data type code of a dtype. */
export function onnxType(dtype: DType): number {
  const codes: Record<DType, number> = {
    float32: 1,
    int32: 6,
    int64: 7,
    bool: 9,
    float16: 10,
    float64: 11,
  };
  return codes[dtype];
}

/** Throws unless `x` is floating point (ops that only make sense for floats). */
export function requireFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}: needs a floating-point tensor, got ${x}`);
}
