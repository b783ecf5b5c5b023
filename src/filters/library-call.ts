/**
 * One entry point over the other tools' calls (Pillow, ImageMagick): a spec names the library
 * and the call; apply re-filters an image exactly as that tool would, callString prints the call
 * in the tool's own syntax, linearForm gives the kernel a learner fits, and
 * LIBRARY_PARAMETER_SPACES lists what a search (`identify`) enumerates and fits.
 */
import { type Image } from '../image.js';
import { type ImageMagickSpec, applyImageMagick, imageMagickCallString, imageMagickLinearForm, imageMagickParameterSpace } from './imagemagick.js';
import { type CallSpace, type LinearForm } from './library-common.js';
import { type PillowSpec, applyPillow, pillowCallString, pillowLinearForm, pillowParameterSpace } from './pillow.js';

export type LibraryCallSpec = PillowSpec | ImageMagickSpec;

/** The tool's output for `image` (8-bit in, 8-bit out, same size). */
export function applyLibraryCall(image: Image, spec: LibraryCallSpec): Image {
  return spec.library === 'Pillow' ? applyPillow(image, spec) : applyImageMagick(image, spec);
}

/** The call in the tool's syntax: `image.filter(ImageFilter.GaussianBlur(2))`, `convert in.png -blur 0x1.5 out.png`. */
export function libraryCallString(spec: LibraryCallSpec): string {
  return spec.library === 'Pillow' ? pillowCallString(spec) : imageMagickCallString(spec);
}

/** The linear kernel, offset and edge behaviour of the call (see LinearForm). */
export function libraryLinearForm(spec: LibraryCallSpec): LinearForm {
  return spec.library === 'Pillow' ? pillowLinearForm(spec) : imageMagickLinearForm(spec);
}

/** Every call's parameter space, Pillow first. */
export function libraryParameterSpaces(): CallSpace[] {
  return [...pillowParameterSpace(), ...imageMagickParameterSpace()];
}
