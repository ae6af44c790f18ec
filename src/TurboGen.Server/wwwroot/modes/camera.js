// Camera mode: webcam frames (getUserMedia) become the starting point of image-to-image in real time.
// - Latest wins: the app sends a camera frame only when the previous one has been answered (this mode is `paced`),
//   and then always the newest frame, so the picture follows the camera at the model's own rate without a backlog.
// - Similarity filter (StreamDiffusion's idea): each capture is shrunk to a 32-pixel-wide grey thumbnail and compared
//   with the last frame sent; a frame that differs by less than the threshold (mean absolute difference, 0–1) is
//   skipped, so a still scene costs nothing.
// - A readout shows camera, sent and picture rates and how many frames the filter skipped.
// - With a ControlNet on the server, "Each frame is: outlines for …" sends each frame as a canny control image instead.
import { $, showError, clearErrors } from '../ui.js';
import { fillGuides } from './guides.js';

const CAPTURE_FPS = 15;
const THUMB_WIDTH = 32;

/** Mean absolute difference of two grey thumbnails (equal-length byte arrays), 0 (equal) … 1. */
export function frameDifference(a, b) {
  if (!a || !b || a.length !== b.length || a.length === 0) return 1;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / (a.length * 255);
}

/** Keeps the thumbnail of the last frame sent; `changed` says whether a new one differs enough to send. */
export class SimilarityFilter {
  constructor(threshold) { this.threshold = threshold; this.lastSent = null; }
  changed(thumb) { return this.lastSent === null || frameDifference(thumb, this.lastSent) >= this.threshold; }
  sent(thumb) { this.lastSent = thumb; }
  reset() { this.lastSent = null; }
}

let app = null;
let stream = null;
let timer = null;
let readoutTimer = null;
const filter = new SimilarityFilter(0.02);
const thumbCanvas = document.createElement('canvas');
const frameCanvas = document.createElement('canvas');
const counts = { captured: 0, skipped: 0, sent: 0, since: 0 };

function video() { return $('camera-video'); }

/** The current video frame as a grey thumbnail (mirrored like the preview). */
function thumbnail() {
  const v = video();
  const h = Math.max(1, Math.round(THUMB_WIDTH * v.videoHeight / v.videoWidth));
  thumbCanvas.width = THUMB_WIDTH; thumbCanvas.height = h;
  const ctx = thumbCanvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(v, 0, 0, THUMB_WIDTH, h);
  const rgba = ctx.getImageData(0, 0, THUMB_WIDTH, h).data;
  const grey = new Uint8Array(THUMB_WIDTH * h);
  for (let i = 0, j = 0; j < grey.length; i += 4, j++) grey[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
  return grey;
}

/** The current video frame, mirrored and cropped to the output's aspect (longest side 512), as a JPEG data URL. */
function frameDataUrl() {
  const v = video();
  const [w, h] = app.size();
  const scale = 512 / Math.max(w, h);
  frameCanvas.width = Math.round(w * scale); frameCanvas.height = Math.round(h * scale);
  const ctx = frameCanvas.getContext('2d');
  const cover = Math.max(frameCanvas.width / v.videoWidth, frameCanvas.height / v.videoHeight);
  const dw = v.videoWidth * cover, dh = v.videoHeight * cover;
  ctx.setTransform(-1, 0, 0, 1, frameCanvas.width, 0);
  ctx.drawImage(v, (frameCanvas.width - dw) / 2, (frameCanvas.height - dh) / 2, dw, dh);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return frameCanvas.toDataURL('image/jpeg', 0.85);
}

function capture() {
  const v = video();
  if (!stream || v.readyState < 2 || !v.videoWidth) return;
  counts.captured++;
  const thumb = thumbnail();
  if (!filter.changed(thumb)) { counts.skipped++; return; }
  app.generate();
}

function readout() {
  const seconds = Math.max((performance.now() - counts.since) / 1000, 0.001);
  const still = counts.captured ? Math.round(100 * counts.skipped / counts.captured) : 0;
  $('camera-fps').textContent = `Camera ${(counts.captured / seconds).toFixed(1)} fps · sent ${(counts.sent / seconds).toFixed(1)}/s · `
    + `pictures ${app.pictureRate().toFixed(1)}/s · ${still} % still frames skipped`;
  $('camera-fps').dataset.sent = String(counts.sent);
  $('camera-fps').dataset.skipped = String(counts.skipped);
  if (seconds > 5) { counts.captured = counts.skipped = counts.sent = 0; counts.since = performance.now(); }
}

async function start() {
  clearErrors(['mode-error']);
  if (!navigator.mediaDevices?.getUserMedia) {
    showError('This browser gives no camera access here (it needs https or localhost).', 'camera');
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    showError(e?.name === 'NotAllowedError' ? 'Camera access was refused: allow it in the browser to use camera mode.'
      : `No camera could be opened (${e?.name ?? 'error'}).`, 'camera');
    return;
  }
  const v = video();
  v.srcObject = stream;
  v.hidden = false;
  $('camera-idle').hidden = true;
  await v.play().catch(() => {});
  filter.reset();
  Object.assign(counts, { captured: 0, skipped: 0, sent: 0, since: performance.now() });
  timer = setInterval(() => { capture(); }, 1000 / CAPTURE_FPS);
  readoutTimer = setInterval(readout, 1000);
  setToggle(true);
}

function stop() {
  clearInterval(timer); clearInterval(readoutTimer);
  timer = readoutTimer = null;
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  const v = video();
  v.srcObject = null;
  v.hidden = true;
  $('camera-idle').hidden = false;
  $('camera-fps').textContent = 'Camera off';
  setToggle(false);
}

function setToggle(on) {
  $('camera-toggle').setAttribute('aria-pressed', String(on));
  $('camera-toggle').textContent = on ? 'Stop camera' : 'Start camera';
}

export const cameraMode = {
  id: 'camera',
  panes: 2,
  paced: true,
  needsImageToImage: true,

  init(context) {
    app = context;
    $('camera-toggle').addEventListener('click', () => (stream ? stop() : start()));
    $('camera-strength').addEventListener('input', () => {
      $('camera-strength-out').textContent = Number($('camera-strength').value).toFixed(2);
      app.generate();
    });
    $('camera-guide').addEventListener('change', () => { filter.reset(); app.generate(); });
    $('camera-threshold').addEventListener('input', () => {
      filter.threshold = Number($('camera-threshold').value);
      $('camera-threshold-out').textContent = `${(filter.threshold * 100).toFixed(1)} %`;
    });
  },

  /** The server's ControlNets: offered as "outlines" (canny) guides; the starting picture stays the default. */
  controlNets(names) {
    const previous = $('camera-guide').value;
    fillGuides($('camera-guide'), names, ['canny', 'edge'], { keep: 1, label: (n) => `outlines for ${n}` });
    $('camera-guide').value = names.includes(previous) ? previous : '';
    $('camera-guide-label').hidden = names.length === 0;
  },

  activate() {
    $('camera-tools').hidden = false;
    $('camera-idle').hidden = !!stream;
    video().hidden = !stream;
  },

  deactivate() {
    stop();
    $('camera-tools').hidden = true;
    $('camera-idle').hidden = true;
  },

  hasImage() { return !!stream && video().readyState >= 2 && video().videoWidth > 0; },

  /** The newest camera frame (captured now), or null while the camera is off. */
  input() {
    if (!this.hasImage()) return null;
    filter.sent(thumbnail());
    counts.sent++;
    const guide = $('camera-guide').value;
    if (guide) return { controls: [{ model: guide, preprocessor: 'canny', image: frameDataUrl(), resize: 'crop' }] };
    return { image: frameDataUrl(), strength: Number($('camera-strength').value) };
  },
};
