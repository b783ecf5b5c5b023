/**
 * Other libraries' filters with their own semantics, so that a target image made by one of them
 * can be named and re-made exactly: scipy.ndimage, skimage.filters, Pillow's ImageFilter and
 * ImageMagick, and OpenCV itself (the reference filters of ops.ts, with cv2 call strings). One spec type per library (the `library` field tells them apart), and for every
 * call: apply (re-filter an image exactly as that library would), its call string in the
 * library's own syntax, and its search space (what `identify` enumerates and fits).
 */
import { KernelLearnError } from '../../errors.js';
import { type Depth, type Image } from '../../image.js';
import { type LinearForm, type SearchSpace } from './common.js';
import { applyImageMagick, imageMagickCallString, imageMagickLinearForm, imageMagickParameterSpace, type ImageMagickSpec } from './imagemagick.js';
import { applyOpenCv, opencvCallString, opencvSearchSpace, type OpenCvSpec } from './opencv.js';
import { applyPillow, pillowCallString, pillowLinearForm, pillowParameterSpace, type PillowSpec } from './pillow.js';
import { applyScipy, SCIPY_FNS, scipyCallString, scipySearchSpace, type ScipySpec } from './scipy.js';
import { applySkimage, SKIMAGE_FNS, skimageCallString, skimageSearchSpace, type SkimageSpec } from './skimage.js';

export { type ScipySpec, type ScipyFn, type NestedWeights, SCIPY_FNS, gaussianKernel1d } from './scipy.js';
export { type SkimageSpec, type SkimageFn, SKIMAGE_FNS } from './skimage.js';
export { type NdMode, ND_MODES, BORDER_OF_MODE } from './ndimage-core.js';
export { type PillowSpec, type PillowNamedFilter, PILLOW_NAMED_FILTER_NAMES } from './pillow.js';
export { type ImageMagickSpec, type ImConvolveScale } from './imagemagick.js';
export { type OpenCvSpec, filterSpecOf } from './opencv.js';
export { type ImKernelSpec, buildImKernel, imKernelString } from './imagemagick-kernels.js';
export type { SearchSpace, DiscreteParam, ContinuousParam, KernelParam, LinearForm } from './common.js';

export type LibrarySpec = OpenCvSpec | ScipySpec | SkimageSpec | PillowSpec | ImageMagickSpec;

/** The library's output for this image: depth = the library's output dtype (u8 for Pillow and ImageMagick), values as it stores them. */
export function applyLibraryCall(image: Image, spec: LibrarySpec): Image {
  switch (spec.library) {
    case 'OpenCV':
      return applyOpenCv(image, spec);
    case 'scipy.ndimage':
      return applyScipy(image, spec);
    case 'skimage.filters':
      return applySkimage(image, spec);
    case 'Pillow':
      return applyPillow(image, spec);
    case 'ImageMagick':
      return applyImageMagick(image, spec);
    default:
      throw new KernelLearnError(`library '${String((spec as { library?: unknown }).library)}' is not one we reproduce; use OpenCV, scipy.ndimage, skimage.filters, Pillow or ImageMagick`);
  }
}

/**
 * The call in the library's own syntax, defaults left out: `skimage.filters.sobel_h(x)`,
 * `convert in.png -blur 0x1.5 out.png`. `inputDepth` (OpenCV only: the dtype of x) decides between
 * cv2.blur and cv2.boxFilter and whether GaussianBlur's input is converted first.
 */
export function libraryCallString(spec: LibrarySpec, inputDepth?: Depth): string {
  switch (spec.library) {
    case 'OpenCV':
      return opencvCallString(spec, inputDepth);
    case 'scipy.ndimage':
      return scipyCallString(spec);
    case 'skimage.filters':
      return skimageCallString(spec);
    case 'Pillow':
      return pillowCallString(spec);
    case 'ImageMagick':
      return imageMagickCallString(spec);
  }
}

/** The linear kernel, offset and edge behaviour of a Pillow or ImageMagick call (see LinearForm). */
export function libraryLinearForm(spec: PillowSpec | ImageMagickSpec): LinearForm {
  return spec.library === 'Pillow' ? pillowLinearForm(spec) : imageMagickLinearForm(spec);
}

/** Every reproduced call's parameter space, for a search that names the call that made a set of targets. */
export function librarySearchSpaces(): SearchSpace[] {
  return [...opencvSearchSpace(), ...SCIPY_FNS.map(scipySearchSpace), ...SKIMAGE_FNS.map(skimageSearchSpace), ...pillowParameterSpace(), ...imageMagickParameterSpace()];
}
