/**
 * ONNX → TF.js graph model converter. converter.ts walks the graph and tracks layouts; each
 * ops-*.ts file lowers one family of ONNX ops and exports its table, merged here into the one
 * table the converter reads; graph-model-files.ts makes model.json and the weight shard.
 */
import { convertOnnxModel, type LoweringTable, type OnnxToTfjsOptions } from './converter';
import type { ConvertedGraphModel } from './graph-model-files';
import { CONV_LOWERINGS } from './ops-conv';
import { ELEMENTWISE_LOWERINGS } from './ops-elementwise';
import { IMAGE_LOWERINGS } from './ops-image';
import { LINEAR_LOWERINGS } from './ops-linear';
import { REDUCE_LOWERINGS } from './ops-reduce';
import { QUANTIZED_LOWERINGS } from './ops-quantized';
import { SHAPE_LOWERINGS } from './ops-shape';

export type { OnnxToTfjsOptions } from './converter';
export { writeTfjsGraphModel, type ConvertedGraphModel, type TensorMapping } from './graph-model-files';

const OP_LOWERINGS: LoweringTable = {
  ...CONV_LOWERINGS,
  ...ELEMENTWISE_LOWERINGS,
  ...SHAPE_LOWERINGS,
  ...REDUCE_LOWERINGS,
  ...LINEAR_LOWERINGS,
  ...IMAGE_LOWERINGS,
  ...QUANTIZED_LOWERINGS,
};

/** The ONNX ops the converter reads (default domain, or prefixed by theirs: `com.microsoft.QLinearAdd`). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OP_LOWERINGS).sort();

export function convertOnnxToTfjsGraph(model: Uint8Array, options: OnnxToTfjsOptions = {}): ConvertedGraphModel {
  return convertOnnxModel(model, options, OP_LOWERINGS);
}
