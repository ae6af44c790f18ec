// Sketch mode: a drawing surface beside the picture; every stroke sends it (throttled). When the server has a ControlNet
// (GET /api/info), the drawing is its control image by default ("outlines": scribble or lineart preprocessing on the
// server, the prompt decides the rest); otherwise, or when the user picks "the starting picture", it is the starting
// point of image-to-image.
import { $, toast, showError } from '../ui.js';
import { fillGuides, sketchPreprocessor } from './guides.js';

// The canvas: draw with pointer (mouse, pen, touch), erase, clear, load an image.
// While drawing, onChange fires at most every `throttleMs` (and once more when the stroke ends).

const BACKGROUND = '#ffffff';

export class Sketch {
  constructor(canvas, { onChange, throttleMs = 150 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: false });
    this.onChange = onChange ?? (() => {});
    this.throttleMs = throttleMs;
    this.color = '#2456a6';
    this.size = 16;
    this.eraser = false;
    this.drawing = false;
    this.last = null;
    this.lastNotify = 0;
    this.pendingNotify = null;
    this.cachedUrl = null;
    this.fill();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
  }

  fill() {
    this.ctx.fillStyle = BACKGROUND;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.cachedUrl = null;
  }

  clear() {
    this.fill();
    this.notify(true);
  }

  /** Resizes the drawing surface to the aspect of the output (longest side 512), keeping the drawing. */
  setAspect(width, height) {
    const scale = 512 / Math.max(width, height);
    const w = Math.round(width * scale), h = Math.round(height * scale);
    if (w === this.canvas.width && h === this.canvas.height) return;
    const copy = document.createElement('canvas');
    copy.width = this.canvas.width; copy.height = this.canvas.height;
    copy.getContext('2d').drawImage(this.canvas, 0, 0);
    this.canvas.width = w; this.canvas.height = h;
    this.fill();
    this.drawCover(copy, copy.width, copy.height);
  }

  /** Draws an image (Blob or File) over the whole canvas, cropped to cover it. */
  async loadImage(blob) {
    const bitmap = await createImageBitmap(blob);
    this.fill();
    this.drawCover(bitmap, bitmap.width, bitmap.height);
    bitmap.close?.();
    this.notify(true);
  }

  drawCover(source, sw, sh) {
    const { width, height } = this.canvas;
    const scale = Math.max(width / sw, height / sh);
    const dw = sw * scale, dh = sh * scale;
    this.ctx.drawImage(source, (width - dw) / 2, (height - dh) / 2, dw, dh);
    this.cachedUrl = null;
  }

  /** The canvas as a JPEG data URL (cached until it changes). */
  dataUrl() {
    if (!this.cachedUrl) this.cachedUrl = this.canvas.toDataURL('image/jpeg', 0.92);
    return this.cachedUrl;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * (this.canvas.width / r.width), y: (e.clientY - r.top) * (this.canvas.height / r.height) };
  }

  down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.drawing = true;
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  move(e) {
    if (!this.drawing) return;
    e.preventDefault();
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  up(e) {
    if (!this.drawing) return;
    this.drawing = false;
    this.canvas.releasePointerCapture?.(e.pointerId);
    this.notify(true);
  }

  stroke(from, to) {
    const ctx = this.ctx;
    ctx.strokeStyle = this.eraser ? BACKGROUND : this.color;
    ctx.lineWidth = this.size * (this.canvas.width / 512);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    this.cachedUrl = null;
    this.notify(false);
  }

  /** Throttled change notification: immediately if enough time passed (or forced), else once at the end of the window. */
  notify(force) {
    const now = performance.now();
    const due = this.lastNotify + this.throttleMs;
    if (force || now >= due) {
      clearTimeout(this.pendingNotify);
      this.pendingNotify = null;
      this.lastNotify = now;
      this.onChange();
    } else if (!this.pendingNotify) {
      this.pendingNotify = setTimeout(() => { this.pendingNotify = null; this.lastNotify = performance.now(); this.onChange(); }, due - now);
    }
  }
}

let sketch = null;
let app = null;

/** The ControlNet the drawing guides, or '' (image-to-image). */
function guide() { return $('sketch-guide').value; }

function updateGuideUi() {
  const control = guide() !== '';
  document.querySelectorAll('#sketch-tools .when-control').forEach((e) => { e.hidden = !control; });
  document.querySelectorAll('#sketch-tools .when-image').forEach((e) => { e.hidden = control; });
  if (app.mode() === sketchMode) { $('follow-help').hidden = !control; $('strength-help').hidden = control; $('guide-help').hidden = !control; }
}

function setEraser(on) {
  sketch.eraser = on;
  $('tool-eraser').setAttribute('aria-pressed', String(on));
}

function pickColour(color) {
  sketch.color = color;
  $('brush-color').value = color;
  document.querySelectorAll('.swatch').forEach((s) => s.setAttribute('aria-pressed', String(s.dataset.color === color)));
  setEraser(false);
}

export const sketchMode = {
  id: 'sketch',
  panes: 2,
  paced: false,
  needsImageToImage: true,

  init(context) {
    app = context;
    sketch = new Sketch($('sketch'), { onChange: () => { if (app.mode() === sketchMode) app.generate(); }, throttleMs: 150 });
    $('brush-color').addEventListener('input', () => pickColour($('brush-color').value));
    $('brush-size').addEventListener('input', () => { sketch.size = Number($('brush-size').value); });
    document.querySelectorAll('.swatch').forEach((s) => s.addEventListener('click', () => pickColour(s.dataset.color)));
    $('tool-eraser').addEventListener('click', () => setEraser(!sketch.eraser));
    $('sketch-clear').addEventListener('click', () => sketch.clear());
    $('upload').addEventListener('change', (e) => this.loadFile(e.target.files?.[0]));
    $('sketch-guide').addEventListener('change', () => { updateGuideUi(); app.generate(); });
    $('sketch-follow').addEventListener('input', () => {
      $('sketch-follow-out').textContent = Number($('sketch-follow').value).toFixed(1);
      app.generate();
    });
    $('sketch-strength').addEventListener('input', () => {
      $('sketch-strength-out').textContent = Number($('sketch-strength').value).toFixed(2);
      app.generate();
    });
  },

  /** The server's ControlNets are known (or changed): offer them, the likeliest for drawings chosen. */
  controlNets(names) {
    fillGuides($('sketch-guide'), names, ['scribble', 'sketch', 'lineart', 'line'], { keep: 1, label: (n) => `outlines for ${n}` });
    $('sketch-guide-label').hidden = names.length === 0;
    updateGuideUi();
  },

  activate() {
    $('sketch').hidden = false;
    $('sketch-tools').hidden = false;
    updateGuideUi();
    const [w, h] = app.size();
    sketch.setAspect(w, h);
  },

  deactivate() {
    $('sketch').hidden = true;
    $('sketch-tools').hidden = true;
    for (const id of ['follow-help', 'guide-help']) $(id).hidden = true;
    $('strength-help').hidden = false;
  },

  /** The output's aspect changed. */
  resize(width, height) { sketch.setAspect(width, height); },

  hasImage() { return true; },

  /** Outlines: a ControlNet unit (the same `controls` entry as POST /api/generate); else the image-to-image start. */
  input() {
    const model = guide();
    if (model) return { controls: [{ model, preprocessor: sketchPreprocessor(model), image: sketch.dataUrl(), scale: Number($('sketch-follow').value) }] };
    return { image: sketch.dataUrl(), strength: Number($('sketch-strength').value) };
  },

  /** Loads an image file (upload, drop, a kept picture) onto the surface. */
  async loadFile(file) {
    if (!file || !file.type.startsWith('image/')) { toast('Use a PNG, JPEG or WebP image.'); return; }
    try { await sketch.loadImage(file); } catch { showError('That file is not a readable image.', 'image'); }
  },
};
