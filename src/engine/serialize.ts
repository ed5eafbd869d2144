import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { isNamedDim } from './dims.ts';
import {
  OPSET,
  type Attr,
  type ConstantData,
  type DType,
  type Graph,
  type Tensor,
} from './graph.ts';
import type { FrozenWeights } from './weights.ts';
import {
  AttributeProto_AttributeType as AttrType,
  ModelProtoSchema,
  TensorProto_DataLocation as DataLocation,
  TensorProto_DataType as DataType,
  type AttributeProtoSchema,
  type NodeProtoSchema,
  type TensorProtoSchema,
  type ValueInfoProtoSchema,
} from './vendor/onnx/onnx_pb.ts';

/** ONNX IR version written into models (ONNX 1.16+, which ORT 1.30 reads). */
const IR_VERSION = 10n;

const ELEM_TYPE: Record<DType, DataType> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
};

function valueInfo(t: Tensor): MessageInitShape<typeof ValueInfoProtoSchema> {
  return {
    name: t.name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: ELEM_TYPE[t.dtype],
          // Derived expressions (`B*T`) are left unnamed: ORT would treat them as new symbols.
          shape: {
            dim: t.shape.map((d) => ({
              value:
                typeof d === 'number'
                  ? { case: 'dimValue', value: BigInt(d) }
                  : isNamedDim(d)
                    ? { case: 'dimParam', value: d }
                    : { case: undefined },
            })),
          },
        },
      },
    },
  };
}

function tensorProto(name: string, c: ConstantData): MessageInitShape<typeof TensorProtoSchema> {
  const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return {
    name,
    dims: c.shape.map(BigInt),
    dataType: ELEM_TYPE[c.dtype],
    rawData: bytes.slice(),
  };
}

/**
 * Initializers (and a Cast for bf16 storage) for the frozen parameters the model uses, their
 * data external at byte ranges of the weights' files.
 */
function frozenInitializers(
  graph: Graph,
  used: ReadonlySet<Tensor>,
  weights: FrozenWeights | undefined,
): {
  initializers: MessageInitShape<typeof TensorProtoSchema>[];
  casts: MessageInitShape<typeof NodeProtoSchema>[];
} {
  const initializers: MessageInitShape<typeof TensorProtoSchema>[] = [];
  const casts: MessageInitShape<typeof NodeProtoSchema>[] = [];
  const frozen = graph.params.filter((p) => p.frozen && used.has(p.tensor));
  if (frozen.length > 0 && !weights) {
    throw new Error(
      `graph '${graph.name}' has frozen parameters (${frozen[0].name}, ...): pass their values as Session.create's weights`,
    );
  }
  for (const p of frozen) {
    const at = weights!.locate(p.name);
    if (!at)
      throw new Error(`weights (${weights!.weightsKey([])}) have no frozen parameter '${p.name}'`);
    if (at.shape.join(',') !== p.shape.join(',')) {
      throw new Error(
        `frozen parameter '${p.name}' is [${at.shape}] in the weights but [${p.shape}] in the graph`,
      );
    }
    const bf16 = at.dtype === 'bfloat16';
    const length = p.shape.reduce((a, b) => a * b, 1) * (bf16 ? 2 : 4);
    const stored = bf16 ? `${p.name}::bf16` : p.name;
    initializers.push({
      name: stored,
      dims: p.shape.map(BigInt),
      dataType: bf16 ? DataType.BFLOAT16 : DataType.FLOAT,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: at.file },
        { key: 'offset', value: String(at.byteOffset) },
        { key: 'length', value: String(length) },
      ],
    });
    if (bf16) {
      casts.push({
        opType: 'Cast',
        name: `Cast:${p.name}`,
        input: [stored],
        output: [p.name],
        attribute: [attribute('to', { kind: 'int', value: DataType.FLOAT })],
      });
    }
  }
  return { initializers, casts };
}

function attribute(name: string, a: Attr): MessageInitShape<typeof AttributeProtoSchema> {
  switch (a.kind) {
    case 'int':
      return { name, type: AttrType.INT, i: BigInt(a.value) };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value.map(BigInt) };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: AttrType.TENSOR, t: tensorProto('', a.value) };
  }
}

/**
 * Serializes the part of `graph` that its outputs depend on into ONNX `ModelProto` bytes.
 * Every declared input is kept (so feeds stay the same), used constants become initializers,
 * and used frozen parameters become initializers whose data stays in `weights` (external).
 */
export function toOnnxBytes(graph: Graph, weights?: FrozenWeights): Uint8Array {
  if (graph.outputs.length === 0) throw new Error(`graph '${graph.name}' has no outputs`);
  const nodes = graph.liveNodes();
  const used = new Set<Tensor>();
  for (const n of nodes) for (const i of n.inputs) if (i) used.add(i);
  for (const o of graph.outputs) used.add(o);
  const initializers = [...graph.constants].filter(([t]) => used.has(t));
  const usesContrib = nodes.some((n) => n.domain === 'com.microsoft');
  const frozen = frozenInitializers(graph, used, weights);
  const model = create(ModelProtoSchema, {
    irVersion: IR_VERSION,
    producerName: 'finemed-engine',
    opsetImport: [
      { domain: '', version: BigInt(OPSET) },
      ...(usesContrib ? [{ domain: 'com.microsoft', version: 1n }] : []),
    ],
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: [
        ...initializers.map(([t, c]) => tensorProto(t.name, c)),
        ...frozen.initializers,
      ],
      node: [
        ...frozen.casts,
        ...nodes.map((n) => ({
          opType: n.op,
          domain: n.domain,
          name: `${n.op}#${n.id}`,
          input: n.inputs.map((i) => (i ? i.name : '')),
          output: n.outputs.map((o) => o.name),
          attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
        })),
      ],
    },
  });
  return toBinary(ModelProtoSchema, model);
}
