import onnxProto from 'onnx-proto';
import { isNamedDim } from './dims.ts';
import {
  OPSET,
  type Attr,
  type ConstantData,
  type DType,
  type Graph,
  type Tensor,
} from './graph.ts';

const { onnx } = onnxProto;

/** ONNX IR version written into models (ONNX 1.16+, which ORT 1.30 reads). */
const IR_VERSION = 10;

const ELEM_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

function valueInfo(t: Tensor): onnxProto.onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[t.dtype],
        // Derived expressions (`B*T`) are left unnamed: ORT would treat them as new symbols.
        shape: {
          dim: t.shape.map((d) =>
            typeof d === 'number' ? { dimValue: d } : isNamedDim(d) ? { dimParam: d } : {},
          ),
        },
      },
    },
  };
}

function tensorProto(name: string, c: ConstantData): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return { name, dims: [...c.shape], dataType: ELEM_TYPE[c.dtype], rawData: bytes.slice() };
}

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto('', a.value) };
  }
}

/**
 * Serializes the part of `graph` that its outputs depend on into ONNX `ModelProto` bytes.
 * Every declared input is kept (so feeds stay the same), used constants become initializers.
 */
export function toOnnxBytes(graph: Graph): Uint8Array {
  if (graph.outputs.length === 0) throw new Error(`graph '${graph.name}' has no outputs`);
  const nodes = graph.liveNodes();
  const used = new Set<Tensor>();
  for (const n of nodes) for (const i of n.inputs) if (i) used.add(i);
  for (const o of graph.outputs) used.add(o);
  const initializers = [...graph.constants].filter(([t]) => used.has(t));
  const usesContrib = nodes.some((n) => n.domain === 'com.microsoft');
  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'finemed-engine',
    opsetImport: [
      { domain: '', version: OPSET },
      ...(usesContrib ? [{ domain: 'com.microsoft', version: 1 }] : []),
    ],
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: initializers.map(([t, c]) => tensorProto(t.name, c)),
      node: nodes.map((n) => ({
        opType: n.op,
        domain: n.domain,
        name: `${n.op}#${n.id}`,
        input: n.inputs.map((i) => (i ? i.name : '')),
        output: n.outputs.map((o) => o.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
