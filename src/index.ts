/**
 * kernel-learn's library API: everything the CLI and the browser app use, typed.
 * The modules follow the data flow: io -> filters -> data -> nn/kernels -> train -> model.
 */
export { type Image, type Depth, type Pixels, DEPTHS, createImage, channelView, isDepth } from './image.js';
export { KernelLearnError, UsageError } from './errors.js';

// io: files <-> Image
export { readImage, writeImage, isImageFile, IMAGE_EXTENSIONS } from './io/index.js';
export { parseNpy, encodeNpy, type NpyDtype } from './io/npy.js';
export { writeFileAtomic } from './io/atomic.js';

// filters: reference filters with OpenCV semantics, the ground truth for datasets
export { type BorderMode, BORDER_MODES, isBorderMode, borderInterpolate } from './filters/border.js';
export { type FilterSpec, type FilterOp, FILTER_OPS } from './filters/spec.js';
export { applyFilter, describeFilter } from './filters/ops.js';
export { filterKernel, type Kernel2D } from './filters/kernels.js';
export { saturateCast, convertDepth } from './filters/depth.js';

// data: pairs, datasets, synthetic images
export { type ImagePair } from './data/pairs.js';
export { loadPairs, listImageFiles, toGrey, writePair } from './data/dataset.js';
export { syntheticImage, syntheticImages, type SyntheticOptions } from './data/synthetic.js';

// nn + train: the network, its training, the model file, applying it
export { trainFilter, type TrainContext, type TrainOptions, type TrainResult } from './train/index.js';
export { GramCache, type GramPair, type GramStats } from './kernels/gram.js';
export { matchKnownFilters } from './train/match.js';
// Past one machine (docs/scale.md): statistics of pairs or shards, merged exactly, one solve.
export { computeStats, shardOf, trainFromStats, type StatsOptions, type StatsTrainOptions, type StatsTrainResult } from './train/stats.js';
export { decodeStats, encodeStats, mergeStats, type StatsFile, type StatsHeader } from './train/stats-file.js';
export { parseModel, serializeModel, type Model } from './nn/model.js';
export { applyModel } from './nn/apply.js';
// Node only: images larger than memory in bands, and conv over worker threads.
export { applyModelToFile, applyModelBands, applyModelThreaded, type ApplyFileOptions } from './nn/apply-stream.js';
export { openBandReader, NpyBandWriter, type BandReader } from './io/bands.js';

// The types the functions above take and return, so callers can name them.
export type { TrainingSummary, ValidationMetrics, Arch } from './nn/model.js';
export type { LayerSpec, Conv2dSpec, Network } from './nn/network.js';
export type { ProgressEvent, HistoryEntry } from './train/trainer.js';
export type { ResidualDiagnostics } from './train/diagnostics.js';
export type { FormReport } from './train/forms.js';
export type { ZeroTaps } from './train/support.js';
export type { FilterMatch } from './train/match.js';
export type { NpyArray, NpyData } from './io/npy.js';
export type { ApplyBandsOptions } from './nn/apply-stream.js';
export type { LoadPairsOptions } from './data/dataset.js';
export type { ReadImageOptions } from './io/image-file.js';

// Other libraries' filters (scipy.ndimage, skimage.filters, Pillow, ImageMagick) reproduced exactly: for identify and datasets
export { applyLibraryCall, libraryCallString, libraryLinearForm, librarySearchSpaces, type LibrarySpec, type ScipySpec, type SkimageSpec, type PillowSpec, type ImageMagickSpec, type SearchSpace, type LinearForm } from './filters/libraries/index.js';
export { type OpenCvSpec } from './filters/libraries/index.js';

// identify: which library call made a set of targets (proven by re-filtering), or has a model's kernel
export { identifyPairs, identifyKernel, MATCH_FRACTION, FLOAT_TOLERANCE, type IdentifyResult, type IdentifiedCall, type LearnedKernel, type KernelMatch, type KernelIdentifyResult } from './identify/index.js';
