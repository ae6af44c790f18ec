// "Your kept pictures": this browser's history (the server keeps it per client id, see identity.js).
// Each picture shows the prompt actually used (style applied, negative only when guidance was on) — an upscaled picture
// (Upscale ×2/×4 keeps its result here) says so, with its size and its source's — and offers
// favourite (kept longest by the server's retention), download, use its seed, use it as a sketch, delete; Clear empties
// the history except favourites.
import { $, toast, showError, clearErrors, confirmDialog } from './ui.js';
import { apiFetch, withKey } from './identity.js';

const LIMIT = 200;

function describe(p) {
  if (!p) return '';
  const lines = [p.prompt || '(no prompt)'];
  if (p.negativePrompt) lines.push(`Leave out: ${p.negativePrompt}`);
  const bits = [`seed ${p.seed}`, `${p.width}×${p.height}`, `${p.steps} step${p.steps === 1 ? '' : 's'}`];
  if (p.guidanceScale > 1) bits.push(`guidance ${p.guidanceScale}`);
  if (p.strength != null) bits.push(`change ${p.strength}`);
  lines.push(bits.join(' · '));
  return lines.join('\n');
}

/** An upscaled picture: "Upscaled ×2 · 1024×1024" and, in the details, its source's size and the upscaler. */
function upscaleTitle(u) {
  const factor = u.sourceWidth > 0 ? ` ×${Number((u.width / u.sourceWidth).toFixed(2))}` : '';
  return `Upscaled${factor} · ${u.width}×${u.height}`;
}

function describeUpscale(u) {
  return [`Upscaled from ${u.sourceWidth}×${u.sourceHeight} to ${u.width}×${u.height}`, `${u.upscaler}${u.refined ? ', refined by the model' : ''}`].join('\n');
}

export class History {
  /** callbacks: useSeed(seed), useImage(blob). */
  constructor(callbacks) {
    this.callbacks = callbacks;
    this.maxImages = 0;
    $('history-clear').addEventListener('click', () => this.clear());
  }

  async load() {
    let response;
    try { response = await apiFetch(`/api/history?limit=${LIMIT}`); } catch { return; }
    if (!response.ok) return;
    const entries = await response.json();
    const list = $('history');
    const focused = document.activeElement?.closest?.('#history li')?.dataset.file;
    list.replaceChildren(...entries.map((e) => this.item(e)));
    if (focused) list.querySelector(`[data-file="${CSS.escape(focused)}"] button`)?.focus();
    this.update();
  }

  update() {
    const n = $('history').children.length;
    $('history-empty').hidden = n > 0;
    $('history-clear').hidden = n === 0;
    $('history-count').textContent = n === 0 ? '' : (this.maxImages > 0 ? `${n} (the oldest go after ${this.maxImages}; favourites last)` : `${n}`);
  }

  item(entry) {
    const p = entry.parameters, up = entry.upscale;
    const li = document.createElement('li');
    li.dataset.file = entry.file;
    li.classList.toggle('favourite', entry.favourite);
    if (up) li.dataset.upscale = `${up.width}x${up.height}`;
    const img = document.createElement('img');
    img.src = withKey(entry.url);
    img.alt = up ? `Kept picture, upscaled from ${up.sourceWidth}×${up.sourceHeight} to ${up.width}×${up.height}`
      : p?.prompt ? `Kept picture: ${p.prompt}` : `Kept picture ${entry.file}`;
    img.loading = 'lazy';
    const size = up ?? p;
    img.width = 176; img.height = Math.round(176 * (size?.height ?? 1) / (size?.width ?? 1)) || 176;

    const used = document.createElement('details');
    used.className = 'used';
    const summary = document.createElement('summary');
    summary.textContent = up ? upscaleTitle(up) : p?.prompt || entry.file;
    summary.title = up ? 'How it was upscaled' : 'Prompt used';
    const text = document.createElement('p');
    text.textContent = up ? describeUpscale(up) : describe(p);
    used.append(summary, text);

    const actions = document.createElement('div');
    actions.className = 'actions';
    const star = this.button(entry.favourite ? '★ Favourite' : '☆ Favourite', 'Keep this one longest (the oldest non-favourites go first)',
      () => this.favourite(li, entry, star));
    star.setAttribute('aria-pressed', String(entry.favourite));
    const download = document.createElement('a');
    download.href = withKey(entry.url + '?download=true');
    download.download = entry.file;
    download.textContent = 'Download';
    download.title = 'Download the PNG (with its parameters)';
    const seed = this.button('Use seed', 'Use this picture\'s seed', () => this.callbacks.useSeed(p.seed));
    seed.disabled = p?.seed === undefined;
    const sketch = this.button('Sketch on it', 'Use this picture as the drawing surface', async () => {
      const response = await apiFetch(entry.url);
      if (!response.ok) { showError('Could not load the picture.', 'history'); return; }
      this.callbacks.useImage(await response.blob());
    });
    const remove = this.button('Delete', 'Delete this kept picture', () => this.remove(li, entry));
    remove.setAttribute('aria-label', `Delete kept picture ${p?.prompt ? `“${p.prompt.slice(0, 60)}”` : entry.file}`);
    actions.append(star, download, seed, sketch, remove);
    li.append(img, used, actions);
    return li;
  }

  button(label, title, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', onClick);
    return b;
  }

  async favourite(li, entry, star) {
    const on = star.getAttribute('aria-pressed') !== 'true';
    const response = await apiFetch(`${entry.url}/favourite`, { method: on ? 'PUT' : 'DELETE' });
    if (!response.ok) { showError('Could not change the favourite.', 'history'); return; }
    clearErrors(['history-error']);
    star.setAttribute('aria-pressed', String(on));
    star.textContent = on ? '★ Favourite' : '☆ Favourite';
    li.classList.toggle('favourite', on);
  }

  async remove(li, entry) {
    const response = await apiFetch(entry.url, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) { showError('Could not delete the picture.', 'history'); return; }
    clearErrors(['history-error']);
    const next = li.nextElementSibling ?? li.previousElementSibling;
    li.remove();
    (next?.querySelector('button') ?? $('history-title')).focus?.();
    this.update();
    toast('Deleted');
  }

  async clear() {
    const favourites = $('history').querySelectorAll('li.favourite').length;
    const ok = await confirmDialog('Clear kept pictures?',
      favourites ? `All kept pictures except your ${favourites} favourite${favourites === 1 ? '' : 's'} will be deleted.` : 'All kept pictures will be deleted.');
    if (!ok) return;
    const response = await apiFetch('/api/history', { method: 'DELETE' });
    if (!response.ok) { showError('Could not clear the history.', 'history'); return; }
    const { deleted } = await response.json();
    toast(`${deleted} deleted`);
    await this.load();
  }
}
