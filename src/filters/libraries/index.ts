/**
 * Other libraries' filters with their own semantics, so that a target image made by one of them
 * can be named and re-made exactly: scipy.ndimage and skimage.filters. One spec type per library
 * (the `library` field tells them apart), one apply, one call string, one search space each.
 */
import { KernelLearnError } from '../../errors.js';
import { type Image } from '../../image.js';
import { type SearchSpace } from './python.js';
import { applyScipy, SCIPY_FNS, scipyCallString, scipySearchSpace, type ScipySpec } from './scipy.js';
import { applySkimage, SKIMAGE_FNS, skimageCallString, skimageSearchSpace, type SkimageSpec } from './skimage.js';

export { type ScipySpec, type ScipyFn, type NestedWeights, SCIPY_FNS, gaussianKernel1d } from './scipy.js';
export { type SkimageSpec, type SkimageFn, SKIMAGE_FNS } from './skimage.js';
export { type NdMode, ND_MODES, BORDER_OF_MODE } from './ndimage-core.js';
export type { SearchSpace, DiscreteParam, ContinuousParam, KernelParam } from './python.js';

export type LibrarySpec = ScipySpec | SkimageSpec;

/** The library's output for this image: depth = the library's output dtype, values as it stores them. */
export function applyLibraryCall(image: Image, spec: LibrarySpec): Image {
  if (spec.library === 'scipy.ndimage') return applyScipy(image, spec);
  if (spec.library === 'skimage.filters') return applySkimage(image, spec);
  throw new KernelLearnError(`library '${String((spec as { library?: unknown }).library)}' is not one we reproduce; use scipy.ndimage or skimage.filters`);
}

/** The call in the library's own syntax, defaults left out, e.g. `skimage.filters.sobel_h(x)`. */
export function libraryCallString(spec: LibrarySpec): string {
  return spec.library === 'scipy.ndimage' ? scipyCallString(spec) : skimageCallString(spec);
}

/** Every reproduced call's parameter space, for a search that names the call that made a set of targets. */
export function librarySearchSpaces(): SearchSpace[] {
  return [...SCIPY_FNS.map(scipySearchSpace), ...SKIMAGE_FNS.map(skimageSearchSpace)];
}
