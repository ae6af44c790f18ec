// Upscaling the picture on screen: "Upscale ×2 / ×4" post it to POST /api/upscale (the server's default upscaler: its
// first ESRGAN model, else Lanczos) and show the result in a card with a download link; the server also keeps the result
// in this browser's history (save: true), marked as an upscale with its source's size. The API answers once, so the
// progress shown is an indeterminate bar with the time elapsed (and the last run's time per megapixel as an estimate).
import { $ } from './ui.js';
import { apiFetch } from './identity.js';

function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function base64Blob(b64, type) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

export class Upscaler {
  /**
   * @param picture () → the <img> of the picture on screen, or null
   * @param kept (file) → the upscaled picture was kept in the history under that name
   */
  constructor({ picture, kept }) {
    this.picture = picture;
    this.kept = kept;
    this.busy = false;
    this.resultUrl = null;
    this.msPerMegapixel = null;
    document.querySelectorAll('.upscale-btn').forEach((b) => b.addEventListener('click', () => this.upscale(Number(b.dataset.scale))));
    $('upscale-close').addEventListener('click', () => { $('upscale-panel').hidden = true; });
  }

  /** A picture is on screen: the buttons may be used. */
  pictureShown() { this.updateButtons(); }

  updateButtons() {
    const ready = !!this.picture() && !this.busy;
    document.querySelectorAll('.upscale-btn').forEach((b) => { b.disabled = !ready; });
  }

  async upscale(scale) {
    const img = this.picture();
    if (!img || this.busy) return;
    this.busy = true;
    this.updateButtons();
    const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
    const panel = $('upscale-panel');
    panel.hidden = false;
    panel.setAttribute('aria-busy', 'true');
    $('upscale-error').hidden = true;
    $('upscale-result').hidden = true;
    $('upscale-download').hidden = true;
    $('upscale-progress').hidden = false;
    const started = performance.now();
    const estimate = this.msPerMegapixel ? ` (about ${Math.max(1, Math.round(this.msPerMegapixel * (w * h) / 1e6 / 1000))} s)` : '';
    const tick = () => { $('upscale-status').textContent = `Upscaling ×${scale} to ${w} × ${h}… ${Math.round((performance.now() - started) / 1000)} s${estimate}`; };
    tick();
    const timer = setInterval(tick, 500);
    try {
      const image = await blobToDataUrl(await (await fetch(img.src)).blob());
      const response = await apiFetch('/api/upscale', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ image, scale, output_format: 'png', save: true }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new Error(body?.error?.message ?? `The server answered ${response.status}.`);
      this.show(body, scale, performance.now() - started);
      if (body.saved_as) this.kept(body.saved_as);
    } catch (e) {
      $('upscale-status').textContent = `Upscaling ×${scale} failed.`;
      $('upscale-error').textContent = e?.message ?? String(e);
      $('upscale-error').hidden = false;
    } finally {
      clearInterval(timer);
      $('upscale-progress').hidden = true;
      panel.removeAttribute('aria-busy');
      this.busy = false;
      this.updateButtons();
    }
  }

  show(body, scale, elapsedMs) {
    this.msPerMegapixel = elapsedMs / ((body.width * body.height) / 1e6);
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.resultUrl = URL.createObjectURL(base64Blob(body.b64_json, `image/${body.format}`));
    const result = $('upscale-result');
    result.src = this.resultUrl;
    result.alt = `The picture upscaled ×${scale} to ${body.width} × ${body.height}`;
    result.hidden = false;
    Object.assign(result.dataset, { width: String(body.width), height: String(body.height) });
    const link = $('upscale-download');
    link.href = this.resultUrl;
    link.download = `turbogen-upscaled-${body.width}x${body.height}.${body.format === 'jpeg' ? 'jpg' : body.format}`;
    link.textContent = `Download ${body.format.toUpperCase()} (${body.width} × ${body.height})`;
    link.hidden = false;
    $('upscale-status').textContent = `Done: ${body.width} × ${body.height} in ${(elapsedMs / 1000).toFixed(1)} s (${body.upscaler})`
      + (body.saved_as ? ', kept in your pictures.' : '.');
  }
}
