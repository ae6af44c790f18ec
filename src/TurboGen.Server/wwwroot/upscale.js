// Upscaling the picture on screen: "Upscale ×2 / ×4" send an "upscale" message on the live socket (the server's default
// upscaler: its first ESRGAN model, else Lanczos; keep: true). The server answers with a progress message per tile
// ("done" of "total"), which moves the bar, then an "upscaled" PNG frame, shown in a card with a download link; the
// server also keeps it in this browser's history, marked as an upscale with its source's size. One upscale at a time (the
// buttons wait for it); an error, busy and a lost connection end it with a message in the card (a failed keep only says so).
import { $ } from './ui.js';

function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

export class Upscaler {
  /**
   * @param picture () → the <img> of the picture on screen, or null
   * @param send (message without requestId) → the request id it was sent with, or null when not connected
   * @param kept (file) → the upscaled picture was kept in the history under that name
   */
  constructor({ picture, send, kept }) {
    this.picture = picture;
    this.send = send;
    this.kept = kept;
    this.pending = null; // { id, scale, w, h, started, timer, done, total }
    this.resultUrl = null;
    document.querySelectorAll('.upscale-btn').forEach((b) => b.addEventListener('click', () => this.upscale(Number(b.dataset.scale))));
    $('upscale-close').addEventListener('click', () => { $('upscale-panel').hidden = true; });
  }

  /** A picture is on screen: the buttons may be used. */
  pictureShown() { this.updateButtons(); }

  updateButtons() {
    const ready = !!this.picture() && !this.pending;
    document.querySelectorAll('.upscale-btn').forEach((b) => { b.disabled = !ready; });
  }

  /** The socket message answers the running upscale (progress, error, busy). */
  owns(requestId) { return !!this.pending && requestId === this.pending.id; }

  async upscale(scale) {
    const img = this.picture();
    if (!img || this.pending) return;
    const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
    const p = { id: null, scale, w, h, started: performance.now(), timer: null, done: 0, total: 0 };
    this.pending = p;
    this.updateButtons();
    const panel = $('upscale-panel');
    panel.hidden = false;
    panel.setAttribute('aria-busy', 'true');
    $('upscale-error').hidden = true;
    $('upscale-result').hidden = true;
    $('upscale-download').hidden = true;
    const bar = $('upscale-progress');
    bar.removeAttribute('value'); // indeterminate until the first tile is done
    bar.hidden = false;
    p.timer = setInterval(() => this.tick(), 500);
    this.tick();
    try {
      const image = await blobToDataUrl(await (await fetch(img.src)).blob());
      p.id = this.send({ type: 'upscale', image, scale, keep: true });
      if (p.id === null) this.fail('Not connected to the server: try again when the connection is back.');
    } catch (e) {
      this.fail(e?.message ?? String(e));
    }
  }

  tick() {
    const p = this.pending;
    if (!p) return;
    const tiles = p.total ? ` tile ${p.done} of ${p.total} ·` : '';
    $('upscale-status').textContent = `Upscaling ×${p.scale} to ${p.w} × ${p.h}…${tiles} ${Math.round((performance.now() - p.started) / 1000)} s`;
  }

  /** A socket message of the running upscale. */
  message(m) {
    const p = this.pending;
    if (m.type === 'progress') {
      p.done = m.done;
      p.total = m.total;
      const bar = $('upscale-progress');
      bar.max = m.total;
      bar.value = m.done;
      this.tick();
    } else if (m.type === 'busy') {
      this.fail(`The server is busy: try again in ${Math.ceil((m.retryAfterMs ?? 1000) / 1000)} s.`);
    } else if (m.type === 'error') {
      if (m.field !== 'keep') { this.fail(m.message); return; }
      // Not kept (e.g. a full disk): said in the card; the picture still comes.
      $('upscale-error').textContent = m.message;
      $('upscale-error').hidden = false;
    }
  }

  /** The connection was lost: the server cancelled the upscale. */
  connectionLost() {
    if (this.pending?.id != null) this.fail('The connection was lost while upscaling: try again when it is back.');
  }

  fail(message) {
    $('upscale-status').textContent = `Upscaling ×${this.pending.scale} failed.`;
    $('upscale-error').textContent = message;
    $('upscale-error').hidden = false;
    this.end();
  }

  end() {
    clearInterval(this.pending.timer);
    this.pending = null;
    $('upscale-progress').hidden = true;
    $('upscale-panel').removeAttribute('aria-busy');
    this.updateButtons();
  }

  /** An "upscaled" frame arrived: shown when it answers the running upscale. */
  show(header, blob) {
    const p = this.pending;
    if (!p || header.requestId !== p.id) return;
    const elapsedMs = performance.now() - p.started;
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.resultUrl = URL.createObjectURL(blob);
    const result = $('upscale-result');
    result.src = this.resultUrl;
    result.alt = `The picture upscaled ×${p.scale} to ${header.width} × ${header.height}`;
    result.hidden = false;
    Object.assign(result.dataset, { width: String(header.width), height: String(header.height) });
    const link = $('upscale-download');
    link.href = this.resultUrl;
    link.download = `turbogen-upscaled-${header.width}x${header.height}.png`;
    link.textContent = `Download PNG (${header.width} × ${header.height})`;
    link.hidden = false;
    $('upscale-status').textContent = `Done: ${header.width} × ${header.height} in ${(elapsedMs / 1000).toFixed(1)} s (${header.upscale?.upscaler})`
      + (header.file ? ', kept in your pictures.' : '.');
    this.end();
    if (header.file) this.kept(header.file);
  }
}
