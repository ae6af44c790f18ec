// Repaint mode: an inpaint brush on the picture. Entering the mode takes the picture on screen as the base; what the
// user paints over it is the mask (white = redraw). Every stroke and every keystroke sends the base, the mask and the
// prompt (latest wins, like typing); the server redraws only the painted part and pastes the rest of the base back
// (a soft edge of MASK_BLUR pixels). "Keep changes and paint again" makes the picture now on screen the new base.
import { $ } from '../ui.js';

const MASK_BLUR = 4;
const TINT = '#ff3d7f';

let app = null;
const surface = { base: null, mask: null, tint: null, baseUrl: null, maskUrl: null, painted: false };
let drawing = false, last = null, lastNotify = 0, pending = null;

function canvas() { return $('inpaint-canvas'); }

function layer(w, h, fill) {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  if (fill) { const ctx = c.getContext('2d'); ctx.fillStyle = fill; ctx.fillRect(0, 0, w, h); }
  return c;
}

/** Draws the base with the painted area tinted over it. */
function render() {
  const view = canvas(), ctx = view.getContext('2d');
  ctx.globalAlpha = 1;
  ctx.drawImage(surface.base, 0, 0);
  ctx.globalAlpha = 0.5;
  ctx.drawImage(surface.tint, 0, 0);
  ctx.globalAlpha = 1;
}

/** Takes the picture on screen as the base and clears the mask; false when there is no picture yet. */
function rebase() {
  const img = $('frame');
  const ready = !img.hidden && img.complete && img.naturalWidth > 0;
  $('inpaint-canvas').hidden = !ready;
  $('inpaint-idle').hidden = ready;
  if (!ready) { surface.base = null; return false; }
  const w = img.naturalWidth, h = img.naturalHeight;
  surface.base = layer(w, h);
  surface.base.getContext('2d').drawImage(img, 0, 0, w, h);
  surface.mask = layer(w, h, '#000');
  surface.tint = layer(w, h);
  surface.baseUrl = surface.base.toDataURL('image/jpeg', 0.95);
  surface.maskUrl = null;
  surface.painted = false;
  const view = canvas();
  view.width = w; view.height = h;
  view.dataset.painted = 'false';
  render();
  return true;
}

function clearMask() {
  if (!surface.base) return;
  const { width, height } = surface.base;
  surface.mask = layer(width, height, '#000');
  surface.tint = layer(width, height);
  surface.maskUrl = null;
  surface.painted = false;
  canvas().dataset.painted = 'false';
  render();
  notify(true);
}

function point(e) {
  const r = canvas().getBoundingClientRect();
  return { x: (e.clientX - r.left) * (canvas().width / r.width), y: (e.clientY - r.top) * (canvas().height / r.height) };
}

function stroke(from, to) {
  const width = Number($('mask-size').value) * (canvas().width / 512);
  for (const [target, colour] of [[surface.mask, '#fff'], [surface.tint, TINT]]) {
    const ctx = target.getContext('2d');
    Object.assign(ctx, { strokeStyle: colour, lineWidth: width, lineCap: 'round', lineJoin: 'round' });
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
  }
  surface.maskUrl = null;
  surface.painted = true;
  canvas().dataset.painted = 'true';
  render();
  notify(false);
}

/** Throttled like the sketch: at most one request per 150 ms while painting, and one when the stroke ends. */
function notify(force) {
  const now = performance.now();
  const due = lastNotify + 150;
  const send = () => { pending = null; lastNotify = performance.now(); if (app.mode() === inpaintMode) app.generate(); };
  if (force || now >= due) { clearTimeout(pending); send(); }
  else if (!pending) pending = setTimeout(send, due - now);
}

function down(e) {
  if (!surface.base || (e.button !== 0 && e.pointerType === 'mouse')) return;
  e.preventDefault();
  canvas().setPointerCapture(e.pointerId);
  drawing = true;
  last = point(e);
  stroke(last, last);
}

function move(e) {
  if (!drawing) return;
  e.preventDefault();
  const p = point(e);
  stroke(last, p);
  last = p;
}

function up(e) {
  if (!drawing) return;
  drawing = false;
  canvas().releasePointerCapture?.(e.pointerId);
  notify(true);
}

export const inpaintMode = {
  id: 'inpaint',
  panes: 2,
  paced: false,
  needsImageToImage: true,

  init(context) {
    app = context;
    const view = canvas();
    view.addEventListener('pointerdown', down);
    view.addEventListener('pointermove', move);
    view.addEventListener('pointerup', up);
    view.addEventListener('pointercancel', up);
    $('mask-clear').addEventListener('click', clearMask);
    $('inpaint-rebase').addEventListener('click', () => { if (rebase()) notify(true); });
    $('inpaint-strength').addEventListener('input', () => {
      $('inpaint-strength-out').textContent = Number($('inpaint-strength').value).toFixed(2);
      app.generate();
    });
  },

  activate() {
    $('inpaint-tools').hidden = false;
    $('rebase-help').hidden = false;
    rebase();
  },

  deactivate() {
    $('inpaint-tools').hidden = true;
    $('rebase-help').hidden = true;
    $('inpaint-canvas').hidden = true;
    $('inpaint-idle').hidden = true;
    surface.base = null;
  },

  /** A new picture is on screen: the first one becomes the base when the mode started without one. */
  pictureShown() {
    if (surface.base) return;
    $('frame').decode().then(() => { if (!surface.base && app.mode() === inpaintMode) rebase(); }, () => {});
  },

  hasImage() { return !!surface.base; },

  /** The base picture and the painted mask (the native API's init image + mask), or nothing before a picture exists. */
  input() {
    if (!surface.base) return null;
    surface.maskUrl ??= surface.mask.toDataURL('image/png');
    return { image: surface.baseUrl, mask: surface.maskUrl, maskBlur: MASK_BLUR, strength: Number($('inpaint-strength').value) };
  },
};
