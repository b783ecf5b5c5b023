/**
 * The built-in photographs: the repository's test fixtures (test/fixtures/photos: small grey crops
 * of OpenCV's sample photos, freely licensed, see the README there), bundled by Vite as asset URLs
 * (one copy in the repository; ~85 kB in the build) and decoded like an upload.
 */
import type { Image } from '../../src/image.js';
import { decodeRaster } from './decode.js';
import aero1 from '../../test/fixtures/photos/aero1.png';
import baboon from '../../test/fixtures/photos/baboon.png';
import building from '../../test/fixtures/photos/building.png';
import butterfly from '../../test/fixtures/photos/butterfly.png';
import fruits from '../../test/fixtures/photos/fruits.png';
import home from '../../test/fixtures/photos/home.png';

export const PHOTOS: { stem: string; url: string }[] = [
  { stem: 'baboon', url: baboon },
  { stem: 'aero1', url: aero1 },
  { stem: 'building', url: building },
  { stem: 'butterfly', url: butterfly },
  { stem: 'fruits', url: fruits },
  { stem: 'home', url: home },
];

/** The photographs as images (one grey channel, 0..255); fetched once, decoded per run. */
export async function loadPhotos(): Promise<{ stem: string; input: Image }[]> {
  return Promise.all(
    PHOTOS.map(async ({ stem, url }) => {
      const blob = await (await fetch(url)).blob();
      const { image } = await decodeRaster(blob, new Uint8Array(await blob.arrayBuffer()), `${stem}.png`);
      return { stem, input: image };
    }),
  );
}
