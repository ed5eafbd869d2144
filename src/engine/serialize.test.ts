import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { Graph, int, ints, float, str, OPSET } from './graph.ts';
import {
  AttributeProto_AttributeType as AttrType,
  ModelProtoSchema,
  TensorProto_DataType as DataType,
} from './vendor/onnx/onnx_pb.ts';
import { toOnnxBytes } from './serialize.ts';
import { evaluate, feed } from './testing.ts';

/** A graph whose one node carries every attribute kind the engine writes. */
function everyAttrGraph(): Graph {
  const g = new Graph({ name: 'attrs' });
  const x = g.input('x', 'float32', ['B', 3]);
  g.input('unused', 'int64', [2]);
  const w = g.constant([1, 2, 3], 'float32', [3]);
  const [y] = g.addNode(
    'Mul',
    [x, w],
    {
      axis: int(0),
      perm: ints([1, 0]),
      alpha: float(0.5),
      floats: { kind: 'floats', value: [1.5, -2] },
      mode: str('constant'),
      value: {
        kind: 'tensor',
        value: { dtype: 'int64', shape: [2], data: new BigInt64Array([7n, 9n]) },
      },
    },
    [{ dtype: 'float32', shape: ['B', 3] }],
  );
  const [z] = g.addNode(
    'FastGelu',
    [y],
    {},
    [{ dtype: 'float32', shape: ['B*1', 3] }],
    'com.microsoft',
  );
  g.output(z, 'z');
  return g;
}

describe('toOnnxBytes', () => {
  it('writes opset imports, initializers and node attributes the ONNX schema reads back', () => {
    const model = fromBinary(ModelProtoSchema, toOnnxBytes(everyAttrGraph()));
    expect(model.irVersion).toBe(10n);
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([
      ['', BigInt(OPSET)],
      ['com.microsoft', 1n],
    ]);
    const graph = model.graph!;
    expect(graph.input.map((i) => i.name)).toEqual(['x', 'unused']);
    const xType = graph.input[0].type!.value;
    expect(xType.case).toBe('tensorType');
    const xDims = xType.case === 'tensorType' ? xType.value.shape!.dim.map((d) => d.value) : [];
    expect(xDims).toEqual([
      { case: 'dimParam', value: 'B' },
      { case: 'dimValue', value: 3n },
    ]);
    // A derived dimension is written without a value, so ORT does not invent a symbol for it.
    const zType = graph.output[0].type!.value;
    const zDims = zType.case === 'tensorType' ? zType.value.shape!.dim.map((d) => d.value) : [];
    expect(zDims[0]).toEqual({ case: undefined });

    expect(graph.initializer).toHaveLength(1);
    const [init] = graph.initializer;
    expect(init.dataType).toBe(DataType.FLOAT);
    expect(init.dims).toEqual([3n]);
    expect([...new Float32Array(init.rawData.slice().buffer)]).toEqual([1, 2, 3]);

    const [mul, gelu] = graph.node;
    expect(gelu.domain).toBe('com.microsoft');
    expect(mul.input).toEqual(['x', init.name]);
    const attrs = Object.fromEntries(mul.attribute.map((a) => [a.name, a]));
    expect(attrs.axis.type).toBe(AttrType.INT);
    // proto2 presence: a zero is written, so ORT finds the attribute instead of a default.
    expect(Object.hasOwn(attrs.axis, 'i') && attrs.axis.i).toBe(0n);
    expect(attrs.perm.ints).toEqual([1n, 0n]);
    expect(attrs.alpha.f).toBe(0.5);
    expect(attrs.floats.floats).toEqual([1.5, -2]);
    expect(new TextDecoder().decode(attrs.mode.s)).toBe('constant');
    expect(attrs.value.t!.dataType).toBe(DataType.INT64);
    expect([...new BigInt64Array(attrs.value.t!.rawData.slice().buffer)]).toEqual([7n, 9n]);
  });

  it('keeps only the nodes and constants the outputs depend on', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    g.addNode('Neg', [g.constant([5, 6], 'float32')], {}, [{ dtype: 'float32', shape: [2] }]);
    g.output(g.addNode('Relu', [x], {}, [{ dtype: 'float32', shape: [2] }])[0], 'y');
    const graph = fromBinary(ModelProtoSchema, toOnnxBytes(g)).graph!;
    expect(graph.node.map((n) => n.opType)).toEqual(['Relu']);
    expect(graph.initializer).toEqual([]);
  });

  it('rejects a graph without outputs, naming it', () => {
    expect(() => toOnnxBytes(new Graph({ name: 'empty' }))).toThrow(/graph 'empty' has no outputs/);
  });

  it('writes a zero-valued int attribute, which ONNX Runtime honours', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    // Softmax's default axis is -1: were `axis: 0` dropped, rows would sum to 1, not columns.
    const [y] = g.addNode('Softmax', [x], { axis: int(0) }, [{ dtype: 'float32', shape: [2, 2] }]);
    g.output(y, 'y');
    const out = await evaluate(g, { x: feed('float32', [0, 1, 2, 3], [2, 2]) });
    const low = 1 / (1 + Math.exp(2));
    const expected = [low, low, 1 - low, 1 - low];
    out.y.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });
});
