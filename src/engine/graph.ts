import { formatShape, numel, type Dim, type Shape } from './dims.ts';
import { toTypedData, type ConstantData, type DType, type TypedData } from './typed-data.ts';

export type { ConstantData, DType, TypedData } from './typed-data.ts';

/** True for the floating-point element types (the ones that carry gradients). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** A node attribute, tagged with its ONNX attribute type. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: ConstantData };

/** Attribute constructors, so op code reads `{ axis: int(1) }`. */
export const int = (value: number): Attr => ({ kind: 'int', value });
/** A float attribute. */
export const float = (value: number): Attr => ({ kind: 'float', value });
/** An ints attribute. */
export const ints = (value: readonly number[]): Attr => ({ kind: 'ints', value });
/** A string attribute. */
export const str = (value: string): Attr => ({ kind: 'string', value });

/** One operator application in a graph. */
export interface Node {
  /** Creation order; also orders nodes topologically. */
  readonly id: number;
  /** ONNX operator type, e.g. `MatMul`. */
  readonly op: string;
  /** Operator domain: `''` for standard ONNX, `com.microsoft` for ORT contrib ops. */
  readonly domain: string;
  /** Inputs in ONNX order; `undefined` for an omitted optional input. */
  readonly inputs: readonly (Tensor | undefined)[];
  /** Outputs in ONNX order. */
  readonly outputs: readonly Tensor[];
  /** Attributes by name. */
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** The name errors use for a node, e.g. `MatMul#12`. */
export function nodeName(node: Node): string {
  return `${node.op}#${node.id}`;
}

/**
 * A gradient rule attached to a group of forward nodes (a composite op such as RMSNorm),
 * used by autodiff instead of differentiating the group node by node.
 */
export interface CustomGradient {
  /** Name shown in errors, e.g. `rmsNorm`. */
  readonly name: string;
  /** The composite's differentiable inputs. */
  readonly inputs: readonly Tensor[];
  /** The composite's outputs (each carries this record). */
  readonly outputs: readonly Tensor[];
  /**
   * Returns one gradient per input (undefined when not needed or zero), given one gradient
   * per output (undefined when that output does not reach the loss).
   */
  backward(
    gradOutputs: readonly (Tensor | undefined)[],
    needs: readonly boolean[],
  ): (Tensor | undefined)[];
}

/** A symbolic tensor: a value in a graph, with dtype and (possibly symbolic) shape. */
export class Tensor {
  /** Set when a composite op defines this tensor's gradient rule. */
  customGradient?: CustomGradient;
  /**
   * Known contents of a small int64 tensor (a shape, axes, a size), symbolic where needed;
   * lets `reshape(x, shapeTensor)` infer its output shape at build time.
   */
  value?: readonly Dim[];

  /** Created by {@link Graph}; build tensors with graph methods and ops. */
  constructor(
    /** The graph this tensor lives in. */
    readonly graph: Graph,
    /** Creation order, unique within the graph. */
    readonly id: number,
    /** ONNX value name (inputs and outputs keep their user names). */
    public name: string,
    /** Element type. */
    readonly dtype: DType,
    /** Shape; rank is always known. */
    readonly shape: Shape,
    /** The node computing this tensor; undefined for inputs and constants. */
    readonly producer?: Node,
  ) {}

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** `name: float32[B,T,256]`, for error messages. */
  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

/** A trainable (or frozen) float32 parameter declared on a graph. */
export interface ParamDecl {
  /** Parameter name (also the graph input name), e.g. `model.layers.0.mlp.up_proj.weight`. */
  name: string;
  /** Static shape. */
  shape: readonly number[];
  /** Whether optimizers update it (and autodiff differentiates it). */
  trainable: boolean;
  /**
   * Held by the session as an initializer (external data from `Session.create`'s `weights`)
   * instead of being a graph input fed each run; never trainable. See `weights.ts`.
   */
  frozen: boolean;
  /** The tensor holding it: a graph input, or (frozen) an initializer. */
  tensor: Tensor;
}

/** Options for {@link Graph.param}. */
export interface ParamOptions {
  /** Whether optimizers update it (default true, false when frozen). */
  trainable?: boolean;
  /** Make it a session-held initializer rather than a per-run input (see {@link ParamDecl.frozen}). */
  frozen?: boolean;
}

/** Options for a new graph. */
export interface GraphOptions {
  /** Name stored in the ONNX model. */
  name?: string;
  /**
   * Allow ONNX Runtime contrib ops (`com.microsoft` FusedMatMul) where they save nodes;
   * default true. Turn off to get a graph of standard ONNX ops only.
   */
  contribOps?: boolean;
}

/** The standard-domain opset every graph imports (RMSNormalization and Attention need 23). */
export const OPSET = 23;

/**
 * A computation graph under construction. Ops are plain functions that find the graph
 * through their tensor arguments: `add(x, 1)`, `matmul(a, b)`.
 */
export class Graph {
  /** Model name. */
  readonly name: string;
  /** Whether ops may emit `com.microsoft` contrib ops. */
  readonly contribOps: boolean;
  /** Every node, in creation (topological) order. */
  readonly nodes: Node[] = [];
  /** Graph inputs (data inputs and non-frozen parameters), in declaration order. */
  readonly inputs: Tensor[] = [];
  /** Declared parameters, in declaration order. */
  readonly params: ParamDecl[] = [];
  /** Named graph outputs. */
  readonly outputs: Tensor[] = [];
  /** Values of constant tensors, serialized as initializers. */
  readonly constants = new Map<Tensor, ConstantData>();
  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly constantCache = new Map<string, Tensor>();
  private version = 0;
  /** Inside {@link reuseParams}: `param` returns what a name already declares. */
  private reusing = false;

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? 'finemed';
    this.contribOps = options.contribOps ?? true;
  }

  /** Increases whenever the graph changes; serialization caches on it. */
  get revision(): number {
    return this.version;
  }

  /** Declares a data input, e.g. `g.input('ids', 'int64', ['B', 'T'])`. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    this.claimName(name);
    const t = new Tensor(this, this.nextId++, name, dtype, [...shape]);
    this.inputs.push(t);
    this.version++;
    return t;
  }

  /**
   * Declares a float32 parameter: a graph input that optimizers update, or with
   * `{ frozen: true }` a weight the session holds (`Session.create(g, { weights })`).
   */
  param(name: string, shape: readonly number[], options: ParamOptions = {}): Tensor {
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(
        `param '${name}': shape must be positive integers, got ${formatShape(shape)}`,
      );
    }
    const declared = this.reusing ? this.paramByName(name) : undefined;
    if (declared) {
      if (formatShape(declared.shape) !== formatShape(shape))
        throw new Error(
          `param '${name}': declared as ${formatShape(declared.shape)}, asked for ${formatShape(shape)}`,
        );
      return declared.tensor;
    }
    const frozen = options.frozen ?? false;
    if (frozen && options.trainable) {
      throw new Error(`param '${name}': a frozen parameter cannot be trainable`);
    }
    let tensor: Tensor;
    if (frozen) {
      this.claimName(name);
      tensor = new Tensor(this, this.nextId++, name, 'float32', [...shape]);
      this.version++;
    } else {
      tensor = this.input(name, 'float32', shape);
    }
    const trainable = !frozen && (options.trainable ?? true);
    this.params.push({ name, shape: [...shape], trainable, frozen, tensor });
    return tensor;
  }

  /**
   * Turns the declared parameters `select` accepts (default all) into frozen ones: no longer
   * graph inputs nor trainable, their values held by the session. For graphs built by code
   * that declares ordinary parameters (a decoder), frozen afterwards for inference or LoRA.
   */
  freeze(select: (param: ParamDecl) => boolean = () => true): this {
    for (const p of this.params) {
      if (p.frozen || !select(p)) continue;
      p.frozen = true;
      p.trainable = false;
      this.inputs.splice(this.inputs.indexOf(p.tensor), 1);
      this.version++;
    }
    return this;
  }

  /**
   * Runs `build` with {@link param} handing back the tensor a name already declares instead of
   * refusing the name: code that builds a block a second time (gradient checkpointing's re-run)
   * reads the same parameters.
   */
  reuseParams<T>(build: () => T): T {
    const was = this.reusing;
    this.reusing = true;
    try {
      return build();
    } finally {
      this.reusing = was;
    }
  }

  /** The parameter declared under `name`. */
  paramByName(name: string): ParamDecl | undefined {
    return this.params.find((p) => p.name === name);
  }

  /** A constant tensor; small constants with equal contents are shared. */
  constant(
    values: ArrayLike<number> | TypedData,
    dtype: DType,
    shape: readonly number[] = [values.length],
  ): Tensor {
    if (numel(shape) !== values.length) {
      throw new Error(`constant: ${values.length} values do not fill shape ${formatShape(shape)}`);
    }
    const data = toTypedData(values, dtype);
    const key =
      values.length <= 256
        ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}`
        : undefined;
    const cached = key === undefined ? undefined : this.constantCache.get(key);
    if (cached) return cached;
    const t = new Tensor(this, this.nextId++, `const:${this.nextId - 1}`, dtype, [...shape]);
    if (dtype === 'int64' && shape.length <= 1 && values.length <= 64)
      t.value = Array.from(values as ArrayLike<number>, Number);
    this.constants.set(t, { dtype, shape: [...shape], data });
    if (key !== undefined) this.constantCache.set(key, t);
    this.version++;
    return t;
  }

  /** A scalar constant of the given dtype. */
  scalar(value: number, dtype: DType): Tensor {
    return this.constant([value], dtype, []);
  }

  /** A 1-D int64 constant (axes, sizes, indices). */
  int64s(values: readonly number[]): Tensor {
    return this.constant(values, 'int64', [values.length]);
  }

  /**
   * Adds a node and returns its outputs. Ops call this after inferring output dtypes and
   * shapes; user code normally calls the op functions instead.
   */
  addNode(
    op: string,
    inputs: readonly (Tensor | undefined)[],
    attrs: Record<string, Attr>,
    outputs: readonly { dtype: DType; shape: Shape }[],
    domain = '',
  ): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) throw new Error(`${op}: input ${t.name} belongs to another graph`);
    }
    const id = this.nextId++;
    const outs: Tensor[] = [];
    const node: Node = { id, op, domain, inputs: [...inputs], outputs: outs, attrs };
    for (let k = 0; k < outputs.length; k++) {
      const name = outputs.length === 1 ? `${op}:${id}` : `${op}:${id}:${k}`;
      outs.push(
        new Tensor(this, this.nextId++, name, outputs[k].dtype, [...outputs[k].shape], node),
      );
    }
    this.nodes.push(node);
    this.version++;
    return outs;
  }

  /**
   * Marks `t` as a graph output named `name` (default: its current name). A computed tensor is
   * renamed in place; an input, constant or already-named output gets an Identity copy.
   */
  output(t: Tensor, name: string = t.name): Tensor {
    if (t.graph !== this) throw new Error(`output '${name}': tensor belongs to another graph`);
    if (this.outputs.includes(t) && t.name === name) return t;
    let out = t;
    if (!t.producer || this.outputs.includes(t) || this.constants.has(t)) {
      out = this.addNode('Identity', [t], {}, [{ dtype: t.dtype, shape: t.shape }])[0];
    }
    if (out.name !== name) {
      this.claimName(name);
      out.name = name;
    }
    this.outputs.push(out);
    this.version++;
    return out;
  }

  /** The graph input or output with this name. */
  find(name: string): Tensor | undefined {
    return this.inputs.find((t) => t.name === name) ?? this.outputs.find((t) => t.name === name);
  }

  /** Nodes that contribute to `targets` (default: the graph outputs), in topological order. */
  liveNodes(targets: readonly Tensor[] = this.outputs): Node[] {
    const live = new Set<Node>();
    const stack = [...targets];
    while (stack.length > 0) {
      const t = stack.pop()!;
      const node = t.producer;
      if (!node || live.has(node)) continue;
      live.add(node);
      for (const i of node.inputs) if (i) stack.push(i);
    }
    return this.nodes.filter((n) => live.has(n));
  }

  private claimName(name: string): void {
    if (name === '' || this.names.has(name) || /^[A-Za-z]+:\d/.test(name)) {
      throw new Error(`name '${name}' is empty, already used, or reserved for internal tensors`);
    }
    this.names.add(name);
  }
}

/** The graph shared by a list of op arguments; throws when none is a tensor or they differ. */
export function graphOf(op: string, args: readonly unknown[]): Graph {
  let graph: Graph | undefined;
  for (const a of args) {
    if (a instanceof Tensor) {
      if (graph && a.graph !== graph) throw new Error(`${op}: tensors from different graphs`);
      graph = a.graph;
    }
  }
  if (!graph) throw new Error(`${op}: needs at least one tensor argument`);
  return graph;
}

/**
 * Attaches a hand-written gradient rule to a composite op's outputs, so autodiff uses it
 * instead of differentiating the nodes that compute them (fewer backward nodes, no
 * recomputation). Intermediates the rule needs are simply forward tensors it closes over.
 */
export function defineGradient(gradient: CustomGradient): void {
  for (const o of gradient.outputs) o.customGradient = gradient;
}
