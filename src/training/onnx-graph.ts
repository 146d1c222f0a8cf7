/**
 * Small helpers to build ONNX models with `onnx-proto`, without Python: initializer tensors, nodes
 * with attributes, typed graph inputs/outputs with symbolic dimensions, and the model wrapper.
 *
 * @example
 * const g = graph({
 *   name: 'double',
 *   inputs: [valueInfo('x', 'float', ['rows', 4])],
 *   outputs: [valueInfo('y', 'float', ['rows', 4])],
 *   initializers: [floatTensor('two', [], [2])],
 *   nodes: [node('Mul', ['x', 'two'], ['y'])],
 * });
 * fs.writeFileSync('double.onnx', encodeModel(model(g)));
 */
import { onnx } from 'onnx-proto';

/** Element types these helpers can declare for graph inputs and outputs. */
export type ElementType = 'float' | 'int32' | 'int64' | 'bool';

const ELEMENT_TYPES: Record<ElementType, onnx.TensorProto.DataType> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Opset used when none is given: 13 is the first with `axes` as an input of ReduceSum/Unsqueeze. */
export const DEFAULT_OPSET = 13;
/** IR version that goes with opset 13 (ONNX 1.8). */
export const DEFAULT_IR_VERSION = 7;

function checkSize(name: string, dims: readonly number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) throw new Error(`tensor ${name}: dims [${dims.join(', ')}] need ${expected} values, got ${length}`);
}

/**
 * A float32 initializer. Values are stored little-endian in `raw_data` (what ONNX prescribes on
 * every host), which is compact and encodes deterministically.
 */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

/** An int32 initializer, stored little-endian in `raw_data`. */
export function int32Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i], true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT32, rawData: bytes };
}

/** An int64 initializer (e.g. `axes` or shapes), from safe integers or bigints, little-endian `raw_data`. */
export function int64Tensor(name: string, dims: readonly number[], values: ArrayLike<number | bigint>): onnx.ITensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes };
}

/** Attribute values of {@link node}; use the helpers below so the ONNX type is explicit. */
export type Attribute = onnx.IAttributeProto;

/** An integer attribute (ONNX `INT`), e.g. `intAttr('axis', 1)`. */
export const intAttr = (name: string, value: number): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
/** A float attribute (ONNX `FLOAT`), e.g. `floatAttr('epsilon', 1e-5)`. */
export const floatAttr = (name: string, value: number): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });
/** A list-of-integers attribute (ONNX `INTS`), e.g. `intsAttr('perm', [0, 2, 1])`. */
export const intsAttr = (name: string, values: number[]): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
/** A list-of-floats attribute (ONNX `FLOATS`). */
export const floatsAttr = (name: string, values: number[]): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.FLOATS, floats: values });
/** A string attribute (ONNX `STRING`, UTF-8), e.g. `stringAttr('mode', 'constant')`. */
export const stringAttr = (name: string, value: string): Attribute => ({
  name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value),
});
/** A tensor attribute (ONNX `TENSOR`), e.g. the `value` of a `Constant` node. */
export const tensorAttr = (name: string, value: onnx.ITensorProto): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.TENSOR, t: value });

/**
 * One operator call. `inputs` and `outputs` are value names; an empty string marks an omitted
 * optional input. The node is named after its first output unless `name` is given.
 */
export function node(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = [], name?: string): onnx.INodeProto {
  return { opType, input: inputs, output: outputs, attribute: attributes, name: name ?? `${opType}_${outputs[0]}` };
}

/**
 * A typed graph input or output. A string dimension is symbolic (`dim_param`, e.g. 'rows' or
 * 'batch'), so the runtime accepts any size there; a number is fixed (`dim_value`).
 */
export function valueInfo(name: string, elementType: ElementType, dims: ReadonlyArray<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[elementType],
        shape: { dim: dims.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })) },
      },
    },
  };
}

/** Parts of a graph for {@link graph}. Nodes must be listed in topological order. */
export interface GraphParts {
  name: string;
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers?: onnx.ITensorProto[];
  nodes: onnx.INodeProto[];
  docString?: string;
}

/** Assembles a graph. Initializers are not repeated as inputs (allowed since IR version 4). */
export function graph(parts: GraphParts): onnx.IGraphProto {
  return {
    name: parts.name,
    input: parts.inputs,
    output: parts.outputs,
    initializer: parts.initializers ?? [],
    node: parts.nodes,
    docString: parts.docString ?? '',
  };
}

/** Options of {@link model}. */
export interface ModelOptions {
  /** Default-domain opset version; {@link DEFAULT_OPSET} unless given. */
  opset?: number;
  /** ONNX IR version; {@link DEFAULT_IR_VERSION} unless given (raise it with the opset). */
  irVersion?: number;
  producerName?: string;
  docString?: string;
  /** Free-form key/value pairs stored in the model's `metadata_props`. */
  metadata?: Record<string, string>;
}

/** Wraps a graph in a model with its opset import and IR version. */
export function model(g: onnx.IGraphProto, options: ModelOptions = {}): onnx.IModelProto {
  return {
    irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
    opsetImport: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }],
    producerName: options.producerName ?? 'sift',
    docString: options.docString ?? '',
    graph: g,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

/** Serialises a model to the bytes of a `.onnx` file. Same input, same bytes. */
export function encodeModel(m: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();
}
