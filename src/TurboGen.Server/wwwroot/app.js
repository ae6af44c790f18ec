// TurboGen web app: the picture follows the prompt as you type.
// Every change sends the full parameters with an increasing requestId; the server keeps only the newest and
// answers with frames. A frame older than the one shown is never displayed.

import { RealtimeConnection } from './realtime.js';
import { Sketch } from './sketch.js';

const $ = (id) => document.getElementById(id);
const MAX_SEED = 4294967295;

const state = {
  requestId: 0,
  lastParamsId: 0,          // newest "generate" request sent
  shownId: -1,              // request id of the frame on screen
  shownKind: null,
  variantsId: 0,
  sentAt: new Map(),        // requestId → performance.now() when sent
  frameTimes: [],           // arrival times of recent live frames (fps)
  frameUrl: null,
  ready: false,
  imageToImage: true,
  apiKey: sessionStorage.getItem('turbogen-key') || new URLSearchParams(location.hash.slice(1)).get('key') || null,
};

// ------------------------------------------------------------------ helpers

function withKey(url) {
  if (!state.apiKey) return url;
  return url + (url.includes('?') ? '&' : '?') + 'key=' + encodeURIComponent(state.apiKey);
}

function apiFetch(url) {
  return fetch(url, { headers: state.apiKey ? { Authorization: 'Bearer ' + state.apiKey } : {} });
}

function randomSeed() { return Math.floor(Math.random() * MAX_SEED); }

function currentSize() { return $('size').value.split('x').map(Number); }

function currentSeed() {
  const v = Number($('seed').value);
  return Number.isInteger(v) && v >= 0 && v <= MAX_SEED ? v : 0;
}

function setSeed(seed) { $('seed').value = String(((seed % (MAX_SEED + 1)) + (MAX_SEED + 1)) % (MAX_SEED + 1)); }

function isTextField(el) {
  return el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
    || (el instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'color', 'file'].includes(el.type));
}

let toastTimer = null;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
}

function showError(message, field) {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  const input = { prompt: 'prompt', negative: 'negative', seed: 'seed', width: 'size', height: 'size', style: 'style', strength: 'strength', image: 'sketch' }[field];
  if (input) $(input).setAttribute('aria-invalid', 'true');
}

function clearError() {
  $('error').hidden = true;
  document.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
}

function setOverlay(text) {
  const o = $('overlay');
  o.textContent = text ?? '';
  o.hidden = !text;
}

function setStatus(text, kind) {
  const b = $('model-status');
  b.textContent = text;
  b.dataset.kind = kind;
}

// ------------------------------------------------------------------ requests

function parameters(extra = {}) {
  const [width, height] = currentSize();
  const params = {
    type: 'generate',
    requestId: ++state.requestId,
    prompt: $('prompt').value,
    negative: $('negative').value,
    seed: currentSeed(),
    steps: Number(document.querySelector('input[name="steps"]:checked').value),
    width, height,
    style: $('style').value || null,
    live: true,
    refine: false,
    format: 'jpeg',
    ...extra,
  };
  if ($('img2img').checked) {
    params.image = sketch.dataUrl();
    params.strength = Number($('strength').value);
  }
  return params;
}

function hasInput() { return $('prompt').value.trim().length > 0 || $('img2img').checked; }

/** Sends the current parameters (latest wins on the server). */
function generate(extra = {}) {
  if (!hasInput()) return;
  const params = parameters(extra);
  if (!connection.send(params)) return;
  state.lastParamsId = params.requestId;
  state.sentAt.set(params.requestId, performance.now());
  if (state.sentAt.size > 200) state.sentAt.delete(state.sentAt.keys().next().value);
  clearError();
}

function onPromptTyped() {
  if (!$('seed-lock').checked) setSeed(randomSeed());
  if (!hasInput()) return;
  generate();
}

function stepSeed(delta) {
  setSeed(currentSeed() + delta);
  generate();
}

function requestVariants() {
  if (!hasInput()) { toast('Type a prompt first.'); return; }
  const base = randomSeed() % (MAX_SEED - 8);
  const params = parameters({ type: 'variants', seed: base, count: 4 });
  state.variantsId = params.requestId;
  const grid = $('variants');
  grid.replaceChildren();
  for (let i = 0; i < 4; i++) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'variant loading';
    button.dataset.index = String(i);
    button.dataset.seed = String(base + i);
    button.setAttribute('aria-label', `Variant with seed ${base + i} (loading)`);
    button.addEventListener('click', () => adoptVariant(button));
    grid.append(button);
  }
  if (!connection.send(params)) toast('Not connected.');
}

function adoptVariant(button) {
  setSeed(Number(button.dataset.seed));
  $('seed-lock').checked = true;
  grid().forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
  generate({ refine: true });
  toast(`Seed ${button.dataset.seed} adopted`);
}

function grid() { return [...$('variants').querySelectorAll('.variant')]; }

// ------------------------------------------------------------------ frames

function showFrame(header, blob) {
  if (header.kind === 'variant') {
    if (header.requestId !== state.variantsId) return;
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
    return;
  }
  // Never go back in time; a refined frame may replace the live frame of the same request.
  if (header.requestId < state.shownId) return;
  if (header.requestId === state.shownId && header.kind === 'live' && state.shownKind === 'refined') return;

  const now = performance.now();
  const img = $('frame');
  if (state.frameUrl) URL.revokeObjectURL(state.frameUrl);
  state.frameUrl = URL.createObjectURL(blob);
  img.src = state.frameUrl;
  img.hidden = false;
  img.dataset.requestId = String(header.requestId);
  img.dataset.seed = String(header.seed);
  img.dataset.kind = header.kind;
  img.dataset.imageToImage = String(header.imageToImage);
  img.alt = `Generated image for “${$('prompt').value}”, seed ${header.seed}`;
  $('frame-empty').hidden = true;
  state.shownId = header.requestId;
  state.shownKind = header.kind;

  const sent = state.sentAt.get(header.requestId);
  if (header.kind === 'live') {
    // Input-to-picture latency of live frames (a refined frame waits for the pause on purpose).
    if (sent !== undefined) $('stat-latency').textContent = `${Math.round(now - sent)} ms`;
    state.frameTimes.push(now);
    while (state.frameTimes.length && now - state.frameTimes[0] > 2000) state.frameTimes.shift();
  }
  updateFps();
  $('stat-model').textContent = `${Math.round(header.timings.modelMs)} ms`;
  const vae = header.kind === 'refined' ? 'full VAE' : (header.timings.stages['decode.tiny_vae'] !== undefined ? 'tiny VAE' : 'full VAE');
  $('frame-info').textContent = `seed ${header.seed} · ${header.width}×${header.height} · ${header.kind} (${vae})`
    + (header.promptTruncated ? ' · prompt truncated to 77 tokens' : '')
    + (header.file ? ' · kept' : '');
  if (header.kind === 'refined' && header.file) addHistory({
    file: header.file, url: '/api/history/' + encodeURIComponent(header.file),
    parameters: { seed: header.seed, prompt: $('prompt').value, width: header.width, height: header.height },
  }, true);
}

function updateFps() {
  const now = performance.now();
  while (state.frameTimes.length && now - state.frameTimes[0] > 2000) state.frameTimes.shift();
  $('stat-fps').textContent = state.frameTimes.length ? (state.frameTimes.length / 2).toFixed(1) : '0';
}
setInterval(updateFps, 500);

// ------------------------------------------------------------------ history

function addHistory(entry, prepend) {
  const list = $('history');
  if (list.querySelector(`[data-file="${CSS.escape(entry.file)}"]`)) return;
  const p = entry.parameters ?? {};
  const li = document.createElement('li');
  li.dataset.file = entry.file;
  const img = document.createElement('img');
  img.src = withKey(entry.url);
  img.alt = p.prompt ? `Kept image: ${p.prompt}` : `Kept image ${entry.file}`;
  img.loading = 'lazy';
  img.width = 96; img.height = Math.round(96 * (p.height ?? 1) / (p.width ?? 1)) || 96;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const download = document.createElement('a');
  download.href = withKey(entry.url + '?download=true');
  download.download = entry.file;
  download.textContent = 'Download';
  download.title = 'Download the PNG (with its parameters)';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.textContent = 'Copy seed';
  copy.disabled = p.seed === undefined;
  copy.addEventListener('click', async () => {
    const text = String(p.seed);
    try { await navigator.clipboard.writeText(text); toast(`Seed ${text} copied`); }
    catch { toast(`Seed ${text}`); }
  });
  const use = document.createElement('button');
  use.type = 'button';
  use.textContent = 'Use as init';
  use.title = 'Use this image as the init image (image to image)';
  use.addEventListener('click', async () => {
    const response = await apiFetch(entry.url);
    if (!response.ok) { toast('Could not load the image.'); return; }
    enableImageToImage(true);
    await sketch.loadImage(await response.blob());
  });
  actions.append(download, copy, use);
  li.append(img, actions);
  if (prepend) list.prepend(li); else list.append(li);
  $('history-empty').hidden = true;
}

async function loadHistory() {
  const response = await apiFetch('/api/history?limit=40');
  if (!response.ok) return;
  for (const entry of await response.json()) addHistory(entry, false);
}

// ------------------------------------------------------------------ image to image

const sketch = new Sketch($('sketch'), { onChange: () => { if ($('img2img').checked) generate(); }, throttleMs: 150 });

function enableImageToImage(on) {
  $('img2img').checked = on;
  $('img2img-panel').hidden = !on;
  if (on) { const [w, h] = currentSize(); sketch.setAspect(w, h); }
}

async function loadDroppedFile(file) {
  if (!file || !file.type.startsWith('image/')) { toast('Drop a PNG, JPEG or WebP image.'); return; }
  enableImageToImage(true);
  try { await sketch.loadImage(file); } catch { showError('That file is not a readable image.', 'image'); }
}

// ------------------------------------------------------------------ connection & health

const connection = new RealtimeConnection(() => {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return withKey(`${scheme}//${location.host}/ws`);
});

connection.addEventListener('open', () => {
  if (state.ready) setStatus('Ready', 'ready');
  generate();
});
connection.addEventListener('close', () => {
  setStatus('Disconnected — reconnecting…', 'error');
  pollHealth();
});
connection.addEventListener('frame', (e) => {
  setOverlay(null);
  showFrame(e.detail.header, e.detail.blob);
});
connection.addEventListener('message', (e) => {
  const m = e.detail;
  switch (m.type) {
    case 'hello':
      applyModelInfo(m);
      break;
    case 'status':
      if (m.state === 'ready') { state.ready = true; setStatus('Ready', 'ready'); setOverlay(null); }
      else if (m.state === 'failed') { setStatus('Model failed to load', 'error'); showError(m.error ?? 'The model failed to load.'); }
      else { setStatus(m.state === 'warming' ? 'Warming up…' : 'Loading model…', 'loading'); setOverlay('Model loading…'); }
      break;
    case 'busy':
      setStatus('Server busy', 'loading');
      setTimeout(() => {
        if (m.requestId === state.lastParamsId) { setStatus('Ready', 'ready'); generate(); }
      }, m.retryAfterMs ?? 1000);
      break;
    case 'error':
      if (m.requestId === undefined || m.requestId === null || m.requestId >= state.shownId) showError(m.message, m.field);
      break;
  }
});

function applyModelInfo(m) {
  if (m.state === 'ready') { state.ready = true; setStatus(`Ready · ${m.model}`, 'ready'); }
  if (m.imageToImage === false) {
    state.imageToImage = false;
    $('img2img').disabled = true;
    $('img2img').parentElement.title = 'This model has no VAE encoder: image to image is unavailable.';
  }
  if (m.defaultSize && !state.sizeChosen) {
    const value = `${m.defaultSize}x${m.defaultSize}`;
    if ([...$('size').options].some((o) => o.value === value)) { $('size').value = value; updateAspect(); }
  }
}

let healthTimer = null;
async function pollHealth() {
  clearTimeout(healthTimer);
  try {
    const response = await fetch('/health');
    const health = await response.json();
    if (health.status === 'ready') {
      state.ready = true;
      setStatus(`Ready · ${health.model}`, 'ready');
      setOverlay(null);
      if (!connection.isOpen) healthTimer = setTimeout(pollHealth, 2000);
      return;
    }
    state.ready = false;
    if (health.status === 'failed') {
      setStatus('Model failed to load', 'error');
      showError(`The model failed to load: ${health.error ?? 'unknown error'}`);
      return;
    }
    setStatus(health.status === 'warming' ? 'Warming up…' : 'Loading model…', 'loading');
    setOverlay('Model loading… the first frame appears as soon as it is ready.');
  } catch {
    setStatus('Server unreachable', 'error');
  }
  healthTimer = setTimeout(pollHealth, 1000);
}

async function loadStyles() {
  const response = await apiFetch('/api/styles');
  if (response.status === 401) {
    await askForKey();
    return loadStyles();
  }
  if (!response.ok) return;
  const select = $('style');
  for (const s of await response.json()) {
    const option = document.createElement('option');
    option.value = s.id;
    option.textContent = s.name;
    select.append(option);
  }
}

function askForKey() {
  return new Promise((resolve) => {
    const dialog = $('key-dialog');
    dialog.addEventListener('close', () => {
      state.apiKey = $('key-input').value.trim() || null;
      if (state.apiKey) sessionStorage.setItem('turbogen-key', state.apiKey);
      connection.reconnect();
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}

// ------------------------------------------------------------------ wiring

function updateAspect() {
  const [w, h] = currentSize();
  $('frame-box').style.aspectRatio = `${w} / ${h}`;
  if ($('img2img').checked) sketch.setAspect(w, h);
}

$('prompt').addEventListener('input', onPromptTyped);
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    generate({ refine: true });
  }
});
$('negative').addEventListener('input', () => generate());
$('style').addEventListener('change', () => generate());
$('size').addEventListener('change', () => { state.sizeChosen = true; updateAspect(); generate(); });
document.querySelectorAll('input[name="steps"]').forEach((r) => r.addEventListener('change', () => generate()));
$('seed').addEventListener('input', () => generate());
$('seed-prev').addEventListener('click', () => stepSeed(-1));
$('seed-next').addEventListener('click', () => stepSeed(1));
$('seed-random').addEventListener('click', () => { setSeed(randomSeed()); generate(); });
$('variants-btn').addEventListener('click', requestVariants);

$('img2img').addEventListener('change', () => { enableImageToImage($('img2img').checked); generate(); });
$('strength').addEventListener('input', () => {
  $('strength-out').textContent = Number($('strength').value).toFixed(2);
  generate();
});
$('brush-color').addEventListener('input', () => { sketch.color = $('brush-color').value; setEraser(false); });
$('brush-size').addEventListener('input', () => { sketch.size = Number($('brush-size').value); });
document.querySelectorAll('.swatch').forEach((s) => s.addEventListener('click', () => {
  sketch.color = s.dataset.color;
  $('brush-color').value = s.dataset.color;
  setEraser(false);
}));
function setEraser(on) {
  sketch.eraser = on;
  $('tool-eraser').setAttribute('aria-pressed', String(on));
}
$('tool-eraser').addEventListener('click', () => setEraser(!sketch.eraser));
$('sketch-clear').addEventListener('click', () => sketch.clear());
$('upload').addEventListener('change', (e) => loadDroppedFile(e.target.files?.[0]));

for (const target of [$('sketch'), $('frame-box')]) {
  target.addEventListener('dragover', (e) => { e.preventDefault(); target.classList.add('drop'); });
  target.addEventListener('dragleave', () => target.classList.remove('drop'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    target.classList.remove('drop');
    loadDroppedFile(e.dataTransfer?.files?.[0]);
  });
}

document.addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
  if (isTextField(document.activeElement) && !e.altKey) return;
  if (e.target instanceof HTMLInputElement && e.target.type === 'radio' && !e.altKey) return;
  e.preventDefault();
  stepSeed(e.key === 'ArrowRight' ? 1 : -1);
});

// ------------------------------------------------------------------ start

pollHealth();
loadStyles().then(loadHistory).catch(() => {});
connection.connect();
$('prompt').focus();
