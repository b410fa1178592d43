/**
 * Writing a TensorFlow GraphDef as TF.js graph models store it: `modelTopology.node` is the JSON
 * form of the protobuf (attr values as `{ s: base64 }`, `{ list: { i: ['1'] } }`, `{ type: 'DT_FLOAT' }`…),
 * and every Const node's value lives in the weight shards, listed by node name in `weightsManifest`.
 */

export interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, unknown>;
}

export type WeightDtype = 'float32' | 'int32';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: WeightDtype;
}

// Attribute values in GraphDef JSON (int64 are decimal strings, bytes are base64).
export const attr = {
  type: (dtype: WeightDtype = 'float32') => ({ type: dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' }),
  ints: (values: readonly number[]) => ({ list: { i: values.map(String) } }),
  int: (value: number) => ({ i: String(value) }),
  string: (value: string) => ({ s: Buffer.from(value).toString('base64') }),
  strings: (values: readonly string[]) => ({ list: { s: values.map((v) => Buffer.from(v).toString('base64')) } }),
  bool: (value: boolean) => ({ b: value }),
  shape: (dims: readonly number[]) => ({ shape: tensorShape(dims) }),
};

/** The dtype attribute of every float op. */
export const FLOAT_OP = { T: attr.type() };
export const NHWC_FORMAT = attr.string('NHWC');

export function tensorShape(dims: readonly number[]): { dim?: Array<{ size: string }> } {
  return dims.length === 0 ? {} : { dim: dims.map((d) => ({ size: String(d) })) };
}

/** Collects nodes and constant values; names are made unique here (TF node names are keys). */
export class GraphDefBuilder {
  readonly nodes: NodeDef[] = [];
  private readonly weights: Array<WeightEntry & { data: Float32Array | Int32Array }> = [];
  private readonly taken = new Set<string>();

  /** Reserves a name as is (graph inputs and outputs must keep theirs); false if already taken. */
  reserve(name: string): boolean {
    if (this.taken.has(name)) return false;
    this.taken.add(name);
    return true;
  }

  /** `base` made a valid TF node name, with a numeric suffix if it is taken. */
  unique(base: string): string {
    const clean = sanitizeNodeName(base);
    let name = clean;
    for (let i = 1; this.taken.has(name); i++) name = `${clean}_${i}`;
    this.taken.add(name);
    return name;
  }

  /** Adds a node under an already reserved/unique name; returns its name (its output 0). */
  add(name: string, op: string, input: string[], attrs: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: attrs });
    return name;
  }

  /** `add` under a fresh unique name derived from `base`. */
  op(base: string, op: string, input: string[], attrs: Record<string, unknown> = {}): string {
    return this.add(this.unique(base), op, input, attrs);
  }

  constant(base: string, shape: readonly number[], data: Float32Array | Int32Array): string {
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`constant ${base} has ${data.length} values, shape [${shape}] needs ${count}`);
    const dtype: WeightDtype = data instanceof Float32Array ? 'float32' : 'int32';
    const name = this.unique(base);
    const dt = attr.type(dtype).type;
    const value = { tensor: { dtype: dt, tensorShape: tensorShape(shape) } };
    this.nodes.push({ name, op: 'Const', input: [], attr: { value, dtype: { type: dt } } });
    this.weights.push({ name, shape: [...shape], dtype, data });
    return name;
  }

  /** The manifest entries and the one shard holding them, in the same order. */
  weightData(): { entries: WeightEntry[]; bytes: Uint8Array } {
    const total = this.weights.reduce((sum, w) => sum + w.data.byteLength, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const w of this.weights) {
      // Little-endian on every platform Node runs on, which is what TF.js reads.
      bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
      offset += w.data.byteLength;
    }
    return { entries: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })), bytes };
  }
}

/**
 * TF node names match `[A-Za-z0-9.][A-Za-z0-9_.\-/>]*`; TF.js also reads `name:1` as output 1 and
 * `^name` as a control input. Other characters become '_'.
 */
export function sanitizeNodeName(name: string): string {
  let clean = name.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  if (!/^[A-Za-z0-9.]/.test(clean)) clean = `t${clean}`;
  return clean;
}
