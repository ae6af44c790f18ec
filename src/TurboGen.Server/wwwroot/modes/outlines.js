// Photo outlines mode: the user uploads (or drops) a photo; the server's canny preprocessor turns it into an edge map
// that a ControlNet follows, while the prompt decides what the picture shows. Live like typing: every change of prompt,
// photo, guide or slider sends the full request (the server decodes and preprocesses an unchanged photo once).
import { $, toast, showError, clearErrors } from '../ui.js';
import { fillGuides } from './guides.js';

const MAX_SIDE = 768; // the photo is sent at most this large (the control map is made at the output size anyway)

let app = null;
let photo = null; // JPEG data URL of the chosen photo

function follow() { return Number($('outlines-follow').value); }
function detail() { return Number($('outlines-detail').value); }

/** The photo scaled to fit MAX_SIDE, as a JPEG data URL. */
async function readPhoto(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  return canvas.toDataURL('image/jpeg', 0.92);
}

function showPhoto() {
  $('outlines-photo').hidden = !photo;
  $('outlines-idle').hidden = !!photo;
  if (photo) {
    $('outlines-photo').src = photo;
    $('outlines-photo').alt = 'Your photo: its outlines guide the picture';
  }
}

export const outlinesMode = {
  id: 'outlines',
  panes: 2,
  paced: false,
  needsImageToImage: false,
  needsControlNet: true,

  init(context) {
    app = context;
    $('outlines-upload').addEventListener('change', (e) => this.loadFile(e.target.files?.[0]));
    $('outlines-model').addEventListener('change', () => app.generate());
    $('outlines-follow').addEventListener('input', () => {
      $('outlines-follow-out').textContent = follow().toFixed(1);
      app.generate();
    });
    $('outlines-detail').addEventListener('input', () => {
      $('outlines-detail-out').textContent = String(detail());
      app.generate();
    });
  },

  /** The server's ControlNets are known (or changed). */
  controlNets(names) { fillGuides($('outlines-model'), names, ['canny', 'edge']); },

  activate() {
    $('outlines-tools').hidden = false;
    for (const id of ['guide-help', 'follow-help', 'detail-help']) $(id).hidden = false;
    showPhoto();
  },

  deactivate() {
    $('outlines-tools').hidden = true;
    for (const id of ['guide-help', 'follow-help', 'detail-help']) $(id).hidden = true;
    $('outlines-photo').hidden = true;
    $('outlines-idle').hidden = true;
  },

  hasImage() { return !!photo; },

  /** The photo as a canny ControlNet unit (the same `controls` entry as POST /api/generate), or nothing yet. */
  input() {
    if (!photo || !$('outlines-model').value) return null;
    const low = detail();
    return {
      controls: [{ model: $('outlines-model').value, preprocessor: 'canny', image: photo, scale: follow(), resize: 'crop', low_threshold: low, high_threshold: Math.min(255, low * 2) }],
    };
  },

  /** Loads a photo file (upload or drop). */
  async loadFile(file) {
    if (!file || !file.type.startsWith('image/')) { toast('Use a PNG, JPEG or WebP image.'); return; }
    clearErrors(['mode-error']);
    try { photo = await readPhoto(file); } catch { showError('That file is not a readable image.', 'image'); return; }
    showPhoto();
    app.generate();
  },
};
