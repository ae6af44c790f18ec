// Seed variants: a grid of pictures with consecutive seeds from one "variants" request; picking one adopts its seed.
// After an outage, a grid still loading is requested again (resendIfIncomplete).
import { $, toast } from './ui.js';

export const VARIANTS = 4;

export class SeedVariants {
  /**
   * @param send (base seed, count) → the request id sent, or null when not connected
   * @param adopt (seed) → use this seed for the picture
   */
  constructor({ send, adopt }) {
    this.send = send;
    this.adopt = adopt;
    this.grid = null; // { base, id, received } of the grid on screen
  }

  /** Starts a new grid from a random base seed and asks for it. */
  request(base) {
    this.grid = { base, id: 0, received: 0 };
    const grid = $('variants');
    grid.replaceChildren();
    for (let i = 0; i < VARIANTS; i++) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'variant loading';
      button.dataset.index = String(i);
      button.dataset.seed = String(base + i);
      button.setAttribute('aria-pressed', 'false');
      button.setAttribute('aria-label', `Variant with seed ${base + i} (loading)`);
      button.addEventListener('click', () => this.pick(button));
      grid.append(button);
    }
    $('variants-section').hidden = false;
    this.sendGrid();
  }

  /** Sends (or, after an outage, re-sends) the request of the grid on screen. */
  sendGrid() {
    if (!this.grid) return;
    const id = this.send(this.grid.base, VARIANTS);
    if (id === null) { toast('Not connected: the seeds load when the connection is back.'); return; }
    this.grid.id = id;
  }

  resendIfIncomplete() {
    if (this.grid && this.grid.received < VARIANTS) this.sendGrid();
  }

  pick(button) {
    [...$('variants').children].forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
    this.adopt(Number(button.dataset.seed));
  }

  /** A variant frame arrived: shown in its place when it answers the grid on screen. */
  show(header, blob) {
    if (!this.grid || header.requestId !== this.grid.id) return;
    const button = $('variants').querySelector(`[data-index="${header.index}"]`);
    if (!button) return;
    const img = button.querySelector('img') ?? button.appendChild(document.createElement('img'));
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    img.alt = '';
    button.dataset.seed = String(header.seed);
    button.classList.remove('loading');
    button.setAttribute('aria-label', `Use seed ${header.seed}`);
    button.title = `Seed ${header.seed}`;
    this.grid.received++;
  }
}
