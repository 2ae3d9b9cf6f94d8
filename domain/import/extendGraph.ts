import * as protobuf from 'protobufjs';
import { GraphProto, type NodeDef, type ValueInfo } from '../onnx/onnxProto';

/** ModelProto.graph's field number in onnx.proto. */
const GRAPH_FIELD = 7;
const LENGTH_DELIMITED = 2;

/**
 * Adds nodes and graph outputs to an ONNX file without decoding and re-encoding the rest of it.
 * Slipway's protobuf schema covers only the subset of onnx.proto it writes, so a decode/encode
 * round trip would drop what it does not know (tree ensembles' typed tensors, sequence and map
 * types, doc strings of other tools). Instead the file is walked at the wire level: every
 * top-level field is copied byte for byte, and the graph field gets the new nodes and outputs
 * appended (repeated fields may come in any order, so the original graph bytes stay as they are).
 * The new nodes go after every original node, so a graph in topological order stays in it.
 */
export function extendGraph(
  bytes: Uint8Array,
  addition: { nodes?: NodeDef[]; outputs?: ValueInfo[] },
): Uint8Array {
  const extra = GraphProto.encode(
    GraphProto.create({ node: addition.nodes ?? [], output: addition.outputs ?? [] }),
  ).finish();
  const reader = protobuf.Reader.create(bytes);
  const parts: Uint8Array[] = [];
  let graphs = 0;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === GRAPH_FIELD && wireType === LENGTH_DELIMITED) {
      const graph = reader.bytes();
      const merged = new Uint8Array(graph.length + extra.length);
      merged.set(graph, 0);
      merged.set(extra, graph.length);
      parts.push(protobuf.Writer.create().uint32(tag).bytes(merged).finish());
      graphs++;
    } else {
      reader.skipType(wireType);
      // Copied as read: tag and value bytes of every field the graph edit does not touch.
      parts.push(bytes.subarray(start, reader.pos));
    }
  }
  if (graphs !== 1) throw new Error(`expected one graph in the ONNX model, found ${graphs}`);
  return Buffer.concat(parts);
}
