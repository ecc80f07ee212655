/**
 * The demo's sample library, drawn with sharp (real JPEG and PNG files, nothing downloaded):
 * landscapes and a portrait, an EXIF-rotated photo, an alpha PNG, an exact duplicate under another
 * name, awkward file names (spaces, unicode, '+', '%') and one corrupt JPEG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

interface Scene {
  width: number;
  height: number;
  sky: [string, string];
  sun: string;
  hills: string;
}

const SCENES: Record<string, Scene> = {
  dawn: { width: 2400, height: 1600, sky: ['#12305a', '#f6a25c'], sun: '#ffe28a', hills: '#1d3b2a' },
  noon: { width: 2048, height: 1365, sky: ['#2a7fd4', '#bfe3ff'], sun: '#fff7c2', hills: '#3d7a34' },
  dusk: { width: 1800, height: 1200, sky: ['#3b1d4f', '#e0556b'], sun: '#ffb36b', hills: '#24152d' },
  tower: { width: 1200, height: 1800, sky: ['#0f2537', '#7fb2d9'], sun: '#f2f2f2', hills: '#2b2b2b' },
};

function sceneSvg(scene: Scene, label: string): string {
  const { width: w, height: h } = scene;
  const ridge = (base: number, amp: number, phase: number) =>
    Array.from({ length: 41 }, (_, i) => `${(i * w) / 40},${(base + Math.sin(i / 3 + phase) * amp + Math.sin(i * 1.7 + phase) * amp * 0.3).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${scene.sky[0]}"/><stop offset="1" stop-color="${scene.sky[1]}"/></linearGradient></defs>
  <rect width="${w}" height="${h}" fill="url(#sky)"/>
  <circle cx="${w * 0.68}" cy="${h * 0.42}" r="${Math.min(w, h) * 0.09}" fill="${scene.sun}"/>
  <polygon points="0,${h} ${ridge(h * 0.7, h * 0.05, 0)} ${w},${h}" fill="${scene.hills}" opacity="0.75"/>
  <polygon points="0,${h} ${ridge(h * 0.82, h * 0.04, 2)} ${w},${h}" fill="${scene.hills}"/>
  <text x="${w * 0.05}" y="${h * 0.12}" font-family="sans-serif" font-size="${h * 0.06}" fill="#ffffff">${label}</text>
</svg>`;
}

async function jpeg(scene: Scene, label: string, orientation?: number): Promise<Buffer> {
  let image = sharp(Buffer.from(sceneSvg(scene, label)));
  if (orientation) {
    // Stored sideways with an EXIF orientation tag, as cameras do: renderers must turn it upright.
    image = sharp(await image.rotate(orientation === 6 ? -90 : 0).jpeg().toBuffer()).withMetadata({ orientation });
  }
  return image.jpeg({ quality: 88 }).toBuffer();
}

async function alphaPng(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900">
  <circle cx="600" cy="450" r="380" fill="#e4572e" opacity="0.9"/><circle cx="600" cy="450" r="220" fill="#f3a712"/>
  <text x="600" y="470" text-anchor="middle" font-family="sans-serif" font-size="80" fill="#29335c">logo</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Writes the sample library into `dir` and returns the relative paths written. */
export async function writeSamplePhotos(dir: string): Promise<string[]> {
  const dawn = await jpeg(SCENES.dawn!, 'dawn');
  const files: Record<string, Buffer> = {
    'landscapes/dawn.jpg': dawn,
    'landscapes/noon.jpg': await jpeg(SCENES.noon!, 'noon'),
    'landscapes/dusk.jpg': await jpeg(SCENES.dusk!, 'dusk'),
    'portraits/tower.jpg': await jpeg(SCENES.tower!, 'tower'),
    'portraits/rotated by camera.jpg': await jpeg(SCENES.noon!, 'rotated', 6),
    'graphics/logo-alpha.png': await alphaPng(),
    'graphics/dusk-opaque.png': await sharp(Buffer.from(sceneSvg({ ...SCENES.dusk!, width: 900, height: 600 }, 'png'))).png().toBuffer(),
    // The same bytes as landscapes/dawn.jpg: processed once, stored once.
    'copies/dawn (copy).jpg': dawn,
    'holiday 2024/Zürich + friends 100%.jpg': await jpeg(SCENES.dusk!, 'Zürich'),
    // A JPEG cut off half-way, as an interrupted upload leaves it: recorded FAILED, the rest goes on.
    'broken/truncated.jpg': dawn.subarray(0, Math.floor(dawn.length / 2)),
  };
  for (const [name, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), body);
  }
  return Object.keys(files);
}
