/**
 * The public I/O API: image files (PNG, JPEG, WebP, TIFF, .npy) to and from the planar Image
 * type, the .npy codec, and atomic writes. See image-file.ts for what each format holds.
 */
export { DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, isImageFile, readImage, writeImage, type ReadImageOptions } from './image-file.js';
export { encodeNpy, parseNpy, parseNpyHeader, type NpyArray, type NpyData, type NpyDtype, type NpyHeader } from './npy.js';
export { writeFileAtomic } from './atomic.js';
export { assertFinite } from './finite.js';
