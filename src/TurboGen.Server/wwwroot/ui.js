// Small DOM helpers shared by the app and the mode modules: element lookup, toasts, and errors shown next to the
// control that caused them (the server names the field; fieldErrors maps it to the control and its message element).

export const $ = (id) => document.getElementById(id);

let toastTimer = null;
export function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
}

/** Server field (or client-side area) → [control to mark invalid, element that shows the message]. */
const fieldErrors = {
  prompt: ['prompt', 'prompt-error'],
  negative: ['negative', 'negative-error'],
  guidance: ['guidance', 'negative-error'],
  seed: ['seed', 'seed-error'],
  width: ['size', 'size-error'],
  height: ['size', 'size-error'],
  size: ['size', 'size-error'],
  style: ['style', 'style-error'],
  steps: [null, 'prompt-error'],
  strength: [null, 'mode-error'],
  image: [null, 'mode-error'],
  mask: [null, 'mode-error'],
  maskBlur: [null, 'mode-error'],
  controls: [null, 'mode-error'],
  camera: ['camera-toggle', 'mode-error'],
  keep: ['keep-btn', 'keep-error'],
  save: ['keep-btn', 'keep-error'],
  history: [null, 'history-error'],
};

/** Shows an error next to the control of `field`; anything else (or no field) goes on the picture. */
export function showError(message, field) {
  // controls[0].image and the like: the unit's errors go next to the mode's tools.
  const [control, box] = fieldErrors[field] ?? fieldErrors[field?.split(/[.[]/)[0]] ?? [null, 'picture-error'];
  const el = $(box);
  el.textContent = message;
  el.hidden = false;
  el.dataset.field = field ?? '';
  if (control) $(control).setAttribute('aria-invalid', 'true');
  if (box === 'negative-error') $('negative-section').open = true;
}

/** Clears errors: all request errors (the default), or only those of the given boxes. */
export function clearErrors(boxes = ['prompt-error', 'negative-error', 'seed-error', 'size-error', 'style-error', 'mode-error', 'picture-error', 'keep-error']) {
  for (const id of boxes) {
    const el = $(id);
    if (el.hidden) continue;
    el.hidden = true;
    const [control] = fieldErrors[el.dataset.field] ?? [];
    if (control) $(control).removeAttribute('aria-invalid');
  }
}

export function setStatus(text, kind) {
  const b = $('model-status');
  b.textContent = text;
  b.dataset.kind = kind;
}

export function setOverlay(text, kind = 'info') {
  const o = $('overlay');
  o.textContent = text ?? '';
  o.dataset.kind = kind;
  o.hidden = !text;
}

export function isTextField(el) {
  return el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
    || (el instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'color', 'file', 'range'].includes(el.type));
}

/** Asks a yes/no question in the confirm dialog; resolves true for the destructive choice. */
export function confirmDialog(title, text) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}
