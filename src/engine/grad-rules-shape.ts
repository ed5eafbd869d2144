import { isStatic } from './dims.ts';
import { intAttr, knownInts, sumToShape, type GradRule } from './grad-util.ts';
import { int, nodeName, str, type Node, type Tensor } from './graph.ts';
import { cast, sub } from './ops-math.ts';
import {
  concat,
  dimOf,
  expand,
  reshape,
  reshapeLike,
  shape,
  transpose,
  unsqueeze,
} from './ops-shape.ts';
import { constantOfShape, END, gather, trilu, zerosLike } from './ops-index.ts';

const asShape: GradRule = ({ inputs: [x] }, [g]) => [reshapeLike(g!, x!)];

/** Gradient rules of the shape and indexing ops. */
export const SHAPE_RULES: Record<string, GradRule> = {
  Reshape: asShape,
  Squeeze: asShape,
  Unsqueeze: asShape,
  Flatten: asShape,
  Transpose: ({ attrs }, [g]) => {
    const perm =
      attrs.perm?.kind === 'ints' ? attrs.perm.value : g!.shape.map((_, i) => g!.rank - 1 - i);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(g!, inverse)];
  },
  Expand: ({ inputs: [x] }, [g], needs) => [needs[0] ? sumToShape(g!, x!.shape) : undefined],
  Concat: (node, [g], needs) =>
    splitLike(g!, node.inputs as Tensor[], intAttr(node, 'axis', 0), needs),
  Split: (node, grads) => {
    const axis = intAttr(node, 'axis', 0);
    return [
      concat(
        node.outputs.map((o, k) => grads[k] ?? zerosLike(o)),
        axis,
      ),
    ];
  },
  Slice: (node, [g]) => [padForSlice(node, g!)],
  Gather: (node, [g], needs) => [needs[0] ? gatherGrad(node, g!) : undefined],
  GatherElements: ({ inputs: [data, idx], attrs }, [g], needs) => [
    needs[0]
      ? data!.graph.addNode(
          'ScatterElements',
          [zerosLike(data!), idx!, g!],
          { axis: attrs.axis ?? int(0), reduction: str('add') },
          [{ dtype: data!.dtype, shape: data!.shape }],
        )[0]
      : undefined,
    undefined,
  ],
  Trilu: ({ inputs: [, k], attrs }, [g]) => [trilu(g!, { upper: attrs.upper?.value === 1, k })],
};

/** Splits a Concat's gradient back into pieces the sizes of its inputs. */
function splitLike(
  g: Tensor,
  inputs: readonly Tensor[],
  axis: number,
  needs: readonly boolean[],
): (Tensor | undefined)[] {
  const a = axis < 0 ? axis + g.rank : axis;
  const sizes = inputs.every((x) => typeof x.shape[a] === 'number')
    ? g.graph.int64s(inputs.map((x) => x.shape[a] as number))
    : concat(
        inputs.map((x) => dimOf(x, a)),
        0,
      );
  const parts = g.graph.addNode(
    'Split',
    [g, sizes],
    { axis: int(a) },
    inputs.map((x) => ({ dtype: g.dtype, shape: x.shape })),
  );
  return parts.map((p, k) => (needs[k] ? p : undefined));
}

/** A Slice's gradient: the output gradient zero-padded back to the input's extent. */
function padForSlice(node: Node, g: Tensor): Tensor {
  const [x, startsT, endsT, axesT, stepsT] = node.inputs as (Tensor | undefined)[];
  const starts = knownInts(startsT);
  const ends = knownInts(endsT);
  const axes = knownInts(axesT) ?? starts?.map((_, i) => i);
  const steps = stepsT ? knownInts(stepsT) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps || steps.some((s) => s !== 1)) {
    throw new Error(
      `gradients: Slice (node ${nodeName(node)}) needs constant bounds and step 1 to be differentiated`,
    );
  }
  const graph = g.graph;
  const before: (number | Tensor)[] = x!.shape.map(() => 0);
  const after: (number | Tensor)[] = x!.shape.map(() => 0);
  axes.forEach((axis, k) => {
    const a = axis < 0 ? axis + x!.rank : axis;
    const d = x!.shape[a];
    const size = typeof d === 'number' ? d : undefined;
    const fromEnd = (v: number): number | Tensor =>
      size !== undefined ? size - v : sub(dimOf(x!, a), v);
    const s = starts[k];
    const e = ends[k];
    before[a] = s >= 0 ? (size !== undefined ? Math.min(s, size) : s) : fromEnd(-s);
    after[a] = e >= END / 2 ? 0 : e >= 0 ? fromEnd(Math.min(e, size ?? e)) : -e;
  });
  const pieces = [...before, ...after].map((v) =>
    typeof v === 'number' ? graph.int64s([Math.max(0, v)]) : v,
  );
  const pads = concat(pieces, 0);
  return graph.addNode('Pad', [g, pads], {}, [{ dtype: g.dtype, shape: x!.shape }])[0];
}

/**
 * A Gather's gradient: scatter-add of the output gradient into zeros shaped like the data.
 * ScatterElements, not ScatterND: ORT splits ScatterND's `add` over threads without guarding
 * repeated indices, so the rows of a token that occurs twice raced and an embedding gradient
 * changed from run to run. ScatterElements adds in order, one row per index.
 */
function gatherGrad(node: Node, g: Tensor): Tensor {
  const [data, idx] = node.inputs as Tensor[];
  const axis = intAttr(node, 'axis', 0);
  const q = idx.rank;
  const graph = g.graph;
  // Bring the indexed axis to the front so the scatter runs along axis 0.
  const dataPerm = [axis, ...data.shape.map((_, i) => i).filter((i) => i !== axis)];
  const gradPerm = [
    ...Array.from({ length: q }, (_, i) => axis + i),
    ...Array.from({ length: axis }, (_, i) => i),
    ...Array.from({ length: data.rank - axis - 1 }, (_, i) => axis + q + i),
  ];
  const gFront = axis === 0 ? g : transpose(g, gradPerm);
  const frontShape = dataPerm.map((i) => data.shape[i]);
  const zeros = constantOfShape(
    isStatic(frontShape) ? graph.int64s(frontShape) : gather(shape(data), dataPerm),
    0,
    data.dtype,
  );
  const rows = reshape(gFront, concat([graph.int64s([-1]), shape(gFront, q)], 0));
  const flat = reshape(cast(idx, 'int64'), [-1]);
  const rest = Array.from({ length: data.rank - 1 }, (_, i) => i + 1);
  const index = rest.length ? expand(unsqueeze(flat, rest), shape(rows)) : flat;
  const scattered = graph.addNode(
    'ScatterElements',
    [zeros, index, rows],
    { axis: int(0), reduction: str('add') },
    [{ dtype: data.dtype, shape: frontShape }],
  )[0];
  if (axis === 0) return scattered;
  return transpose(
    scattered,
    dataPerm.map((_, i) => dataPerm.indexOf(i)),
  );
}
