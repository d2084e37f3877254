/**
 * A hand-written subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto,
 * IR version 8 field numbers), enough to build small graphs and to read tree ensembles back.
 * Fields left out (training info, functions, sparse tensors, sequence/map types, segments) are
 * skipped by the decoder as unknown fields, so any valid model still decodes.
 */
import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
}

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    GRAPH = 5;
    FLOATS = 6;
    INTS = 7;
    STRINGS = 8;
    TENSORS = 9;
    GRAPHS = 10;
    SPARSE_TENSOR = 11;
    SPARSE_TENSORS = 12;
    TYPE_PROTO = 13;
    TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional string ref_attr_name = 21;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values (onnx.proto). */
export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** AttributeProto.AttributeType values (onnx.proto). */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

// ---------------------------------------------------------------------------------------------
// Building: plain objects in the proto's own field names, encoded with protobufjs.

export interface TensorInit {
  name: string;
  /** Element type: DOUBLE, FLOAT or INT64 are what the builders here need. */
  dataType: 'float64' | 'float32' | 'int64';
  dims: number[];
  values: number[];
}

/** A number is an INT when it is an integer, else a FLOAT; use the object forms to say which. */
export type AttributeInit =
  | number
  | number[]
  | string
  | string[]
  | { float: number }
  | { ints: number[] }
  | { floats: number[] };

export interface NodeInit {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeInit>;
}

export interface ValueInfoInit {
  name: string;
  elemType: 'float64' | 'float32' | 'int64';
  /** A number for a fixed size, a string for a symbolic one ("N"). */
  shape: (number | string)[];
}

export interface ModelInit {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph: {
    name: string;
    nodes: NodeInit[];
    initializers: TensorInit[];
    inputs: ValueInfoInit[];
    outputs: ValueInfoInit[];
  };
  metadata?: Record<string, string>;
}

const ELEM_TYPE: Record<ValueInfoInit['elemType'], number> = {
  float64: TensorDataType.DOUBLE,
  float32: TensorDataType.FLOAT,
  int64: TensorDataType.INT64,
};

function tensorMessage(t: TensorInit): Record<string, unknown> {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.values.length) {
    throw new Error(`Tensor ${t.name} has dims [${t.dims.join(', ')}] but ${t.values.length} values.`);
  }
  let raw: Uint8Array;
  if (t.dataType === 'float64') raw = new Uint8Array(Float64Array.from(t.values).buffer);
  else if (t.dataType === 'float32') raw = new Uint8Array(Float32Array.from(t.values).buffer);
  else raw = new Uint8Array(BigInt64Array.from(t.values.map((v) => BigInt(v))).buffer);
  // raw_data is little-endian by the ONNX spec; typed arrays use host order, so refuse big-endian hosts.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('Big-endian hosts are not supported.');
  return { name: t.name, data_type: ELEM_TYPE[t.dataType], dims: t.dims, raw_data: raw };
}

function attributeMessage(name: string, value: AttributeInit): Record<string, unknown> {
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((v) => new TextEncoder().encode(v)) };
    }
    const nums = value as number[];
    return nums.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: nums }
      : { name, type: AttributeType.FLOATS, floats: nums };
  }
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

function valueInfoMessage(v: ValueInfoInit): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: ELEM_TYPE[v.elemType],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** Serialises a model description to ONNX protobuf bytes. */
export function encodeModel(model: ModelInit): Uint8Array {
  const message = {
    ir_version: model.irVersion,
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    doc_string: model.docString,
    opset_import: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    metadata_props: Object.entries(model.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.graph.name,
      node: model.graph.nodes.map((n, i) => ({
        name: n.name ?? `${n.opType.toLowerCase()}_${i}`,
        op_type: n.opType,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attributeMessage(k, v)),
      })),
      initializer: model.graph.initializers.map(tensorMessage),
      input: model.graph.inputs.map(valueInfoMessage),
      output: model.graph.outputs.map(valueInfoMessage),
    },
  };
  const problem = ModelProtoType.verify(message);
  if (problem) throw new Error(`Invalid ONNX model description: ${problem}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(message)).finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding: plain objects with numbers, strings and number arrays, for readers such as TreeSHAP.

export interface DecodedTensor {
  name: string;
  /** TensorDataType value. */
  dataType: number;
  dims: number[];
  /** Numeric contents (int64 as numbers; exact up to 2^53). Empty for string tensors. */
  values: number[];
  /** String tensor contents (UTF-8). */
  strings: string[];
}

export type DecodedAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: DecodedTensor }
  | { type: 'graph'; value: DecodedGraph }
  | { type: 'other'; value: null };

export interface DecodedNode {
  name: string;
  opType: string;
  /** "" is the default ai.onnx domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, DecodedAttribute>;
}

export interface DecodedValueInfo {
  name: string;
  /** TensorDataType value, or 0 when the value is not a tensor. */
  elemType: number;
  /** Fixed sizes as numbers, symbolic sizes as strings, unknown as null; null shape when absent. */
  shape: (number | string | null)[] | null;
}

export interface DecodedGraph {
  name: string;
  nodes: DecodedNode[];
  initializers: DecodedTensor[];
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
}

export interface DecodedModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  metadata: Record<string, string>;
  graph: DecodedGraph;
}

/* The decoded protobufjs object, read through loose types: protobufjs gives no static types
 * for a runtime-parsed schema. */
type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const utf8 = new TextDecoder();

function decodeTensor(t: Raw): DecodedTensor {
  const dataType: number = t.data_type ?? 0;
  const dims: number[] = (t.dims ?? []).map(Number);
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  let values: number[] = [];
  let strings: string[] = [];
  if (dataType === TensorDataType.STRING) {
    strings = (t.string_data ?? []).map((b: Uint8Array) => utf8.decode(b));
  } else if (raw) {
    // Copy into an aligned buffer: raw_data may sit at any offset inside the decoded message.
    const buf = new Uint8Array(raw).buffer;
    const view = new DataView(buf);
    const read = rawReader(dataType, view);
    const size = elementSize(dataType);
    for (let off = 0; off + size <= buf.byteLength; off += size) values.push(read(off));
  } else {
    switch (dataType) {
      case TensorDataType.FLOAT:
        values = [...(t.float_data ?? [])];
        break;
      case TensorDataType.DOUBLE:
        values = [...(t.double_data ?? [])];
        break;
      case TensorDataType.INT64:
        values = (t.int64_data ?? []).map(Number);
        break;
      case TensorDataType.UINT32:
      case TensorDataType.UINT64:
        values = (t.uint64_data ?? []).map(Number);
        break;
      default:
        // int32_data holds INT32, INT16, INT8, UINT16, UINT8, BOOL and FLOAT16 bit patterns.
        values = (t.int32_data ?? []).map(Number);
    }
  }
  return { name: t.name ?? '', dataType, dims, values, strings };
}

function elementSize(dataType: number): number {
  switch (dataType) {
    case TensorDataType.DOUBLE:
    case TensorDataType.INT64:
    case TensorDataType.UINT64:
      return 8;
    case TensorDataType.FLOAT:
    case TensorDataType.INT32:
    case TensorDataType.UINT32:
      return 4;
    case TensorDataType.INT16:
    case TensorDataType.UINT16:
    case TensorDataType.FLOAT16:
      return 2;
    default:
      return 1;
  }
}

function rawReader(dataType: number, view: DataView): (offset: number) => number {
  switch (dataType) {
    case TensorDataType.DOUBLE:
      return (o) => view.getFloat64(o, true);
    case TensorDataType.FLOAT:
      return (o) => view.getFloat32(o, true);
    case TensorDataType.INT64:
      return (o) => Number(view.getBigInt64(o, true));
    case TensorDataType.UINT64:
      return (o) => Number(view.getBigUint64(o, true));
    case TensorDataType.INT32:
      return (o) => view.getInt32(o, true);
    case TensorDataType.UINT32:
      return (o) => view.getUint32(o, true);
    case TensorDataType.INT16:
      return (o) => view.getInt16(o, true);
    case TensorDataType.UINT16:
    case TensorDataType.FLOAT16:
      return (o) => view.getUint16(o, true);
    case TensorDataType.INT8:
      return (o) => view.getInt8(o);
    default:
      return (o) => view.getUint8(o);
  }
}

function decodeAttribute(a: Raw): DecodedAttribute {
  const type: number = a.type ?? 0;
  switch (type) {
    case AttributeType.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case AttributeType.INT:
      return { type: 'int', value: Number(a.i ?? 0) };
    case AttributeType.STRING:
      return { type: 'string', value: a.s ? utf8.decode(a.s) : '' };
    case AttributeType.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case AttributeType.INTS:
      return { type: 'ints', value: (a.ints ?? []).map(Number) };
    case AttributeType.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((b: Uint8Array) => utf8.decode(b)) };
    case AttributeType.TENSOR:
      return { type: 'tensor', value: decodeTensor(a.t ?? {}) };
    case AttributeType.GRAPH:
      return { type: 'graph', value: decodeGraph(a.g ?? {}) };
    default:
      return { type: 'other', value: null };
  }
}

function decodeValueInfo(v: Raw): DecodedValueInfo {
  const tensor = v.type?.tensor_type;
  const dims: Raw[] | undefined = tensor?.shape?.dim;
  return {
    name: v.name ?? '',
    elemType: tensor?.elem_type ?? 0,
    shape: tensor?.shape
      ? (dims ?? []).map((d) =>
          d.dim_value !== undefined && d.dim_value !== null
            ? Number(d.dim_value)
            : d.dim_param
              ? String(d.dim_param)
              : null,
        )
      : null,
  };
}

function decodeGraph(g: Raw): DecodedGraph {
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map(
      (n: Raw): DecodedNode => ({
        name: n.name ?? '',
        opType: n.op_type ?? '',
        domain: n.domain ?? '',
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        attributes: Object.fromEntries((n.attribute ?? []).map((a: Raw) => [a.name ?? '', decodeAttribute(a)])),
      }),
    ),
    initializers: (g.initializer ?? []).map(decodeTensor),
    inputs: (g.input ?? []).map(decodeValueInfo),
    outputs: (g.output ?? []).map(decodeValueInfo),
  };
}

/** Parses ONNX protobuf bytes into plain objects (graph nodes with attributes, initializers, inputs, outputs). */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const m = ModelProtoType.toObject(ModelProtoType.decode(bytes), { longs: Number, oneofs: false }) as Raw;
  return {
    irVersion: Number(m.ir_version ?? 0),
    opsets: (m.opset_import ?? []).map((o: Raw) => ({ domain: o.domain ?? '', version: Number(o.version ?? 0) })),
    producerName: m.producer_name ?? '',
    metadata: Object.fromEntries((m.metadata_props ?? []).map((p: Raw) => [p.key ?? '', p.value ?? ''])),
    graph: decodeGraph(m.graph ?? {}),
  };
}

/** Element type name as onnxruntime tensors spell it ("float64"), for a TensorDataType value. */
export function elemTypeName(dataType: number): string {
  if (dataType === TensorDataType.DOUBLE) return 'float64';
  if (dataType === TensorDataType.FLOAT) return 'float32';
  const entry = Object.entries(TensorDataType).find(([, v]) => v === dataType);
  return entry ? entry[0].toLowerCase() : `type ${dataType}`;
}
