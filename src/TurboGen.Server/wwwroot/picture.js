// The picture on screen: draws a frame (the image, what it is, the prompt actually used) and keeps the live statistics
// (latency, pictures per second, model and queue time, which VAE decoded). Which frame may be shown is app.js's decision.
import { $ } from './ui.js';

const KIND_WORDS = { live: 'Quick preview', refined: 'Full quality' };
const STATS = ['stat-latency', 'stat-fps', 'stat-model', 'stat-queue'];

export class PictureView {
  /** @param isOpen () → the connection is open (the rate is shown as "–" otherwise) */
  constructor({ isOpen }) {
    this.isOpen = isOpen;
    this.url = null;
    this.frameTimes = []; // arrival times of recent live frames (rate)
    setInterval(() => this.updateRate(), 500);
  }

  /** Shows a frame; `sentAt` is when its request was sent (performance.now()), if known. */
  show(header, blob, sentAt) {
    const now = performance.now();
    const img = $('frame');
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(blob);
    img.src = this.url;
    img.hidden = false;
    const controls = header.controls ?? [];
    Object.assign(img.dataset, {
      requestId: String(header.requestId), seed: String(header.seed), kind: header.kind, imageToImage: String(header.imageToImage),
      controls: controls.join(' '), inpaint: String(!!header.inpaint),
    });
    img.alt = `Generated picture of “${header.prompt}”, seed ${header.seed}`;
    $('frame-empty').hidden = true;

    if (header.kind === 'live') {
      if (sentAt !== undefined) $('stat-latency').textContent = `${Math.round(now - sentAt)} ms`;
      this.frameTimes.push(now);
    }
    this.updateRate();
    $('stat-model').textContent = `${Math.round(header.timings.modelMs)} ms`;
    $('stat-queue').textContent = `${Math.round(header.timings.queueMs)} ms`;
    $('stat-vae').textContent = header.timings.stages['decode.tiny_vae'] !== undefined ? 'tiny (TAESD)' : 'full VAE';

    const words = [header.file ? 'Kept in full quality' : KIND_WORDS[header.kind] ?? header.kind, `seed ${header.seed}`, `${header.width} × ${header.height}`];
    if (controls.length) words.push(`following the outlines (${controls.map((c) => c.split(':').slice(1).join(':')).join(', ')})`);
    if (header.inpaint) words.push('only the painted part redrawn');
    if (header.guidance) words.push(`with negative prompt (guidance ${header.guidance})`);
    if (header.promptTruncated) words.push('prompt too long: only its start was used');
    $('frame-info').textContent = words.join(' · ');
    $('prompt-used').hidden = !header.prompt;
    $('prompt-used-text').textContent = header.prompt + (header.negative ? `\nLeave out: ${header.negative}` : '');
  }

  /** Live pictures per second over the last 3 s. */
  rate() {
    const now = performance.now();
    while (this.frameTimes.length && now - this.frameTimes[0] > 3000) this.frameTimes.shift();
    return this.frameTimes.length / 3;
  }

  updateRate() { $('stat-fps').textContent = this.isOpen() ? this.rate().toFixed(1) : '–'; }

  /** The connection is lost: the statistics and the picture's description say so. */
  offline() {
    for (const id of STATS) $(id).textContent = '–';
    $('frame-info').textContent = 'Not connected: the picture shown is not up to date.';
  }
}
