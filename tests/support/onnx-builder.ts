/** Just enough of an ONNX graph writer for the tests' tiny models (opset 13). */
import { onnx } from 'onnx-proto';

export const TensorType = onnx.TensorProto.DataType;

type Attribute = number | number[];

export function node(opType: string, input: string[], output: string[], attributes: Record<string, Attribute> = {}): onnx.INodeProto {
  const attribute = Object.entries(attributes).map(([name, value]) =>
    Array.isArray(value)
      ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value }
      : { name, type: onnx.AttributeProto.AttributeType.INT, i: value },
  );
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

/** A graph input or output; string dims are dynamic (named) dimensions. */
export function valueInfo(name: string, elemType: number, dims: (string | number)[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: TensorType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return { name, dims, dataType: TensorType.INT64, rawData: new Uint8Array(data.buffer) };
}

export function modelBytes(graph: {
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers: onnx.ITensorProto[];
  nodes: onnx.INodeProto[];
}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'sift-tests',
    graph: { name: 'tiny', input: graph.inputs, output: graph.outputs, initializer: graph.initializers, node: graph.nodes },
  }).finish();
}
