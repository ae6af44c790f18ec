// TurboGen web app: the picture follows the prompt (and the sketch or camera) as you type.
// Every change sends the full parameters with an increasing requestId; the server keeps only the newest and answers
// with frames. A frame older than the one shown is never displayed.
//
// Modes are modules (modes/*.js) with one contract: { id, panes (1: the picture alone, 2: an input surface beside it),
// paced (send the next input only once the previous one is answered), needsImageToImage, init(app), activate(),
// deactivate(), hasImage() (an input image is there now), input() → extra request fields ({ image, strength }, { controls },
// { image, mask, maskBlur, strength }) | null, resize?(w, h), needsControlNet?, controlNets?(names) (the server's ControlNets),
// pictureShown?() (a new picture is on screen), loadFile?(file) (a dropped image) }. Adding a mode = a module + a radio in index.html.

import { RealtimeConnection } from './realtime.js';
import { $, toast, showError, clearErrors, setStatus, setOverlay, isTextField } from './ui.js';
import { identity, setApiKey, withKey, apiFetch } from './identity.js';
import { History } from './history.js';
import { promptMode } from './modes/prompt.js';
import { sketchMode } from './modes/sketch.js';
import { cameraMode } from './modes/camera.js';
import { outlinesMode } from './modes/outlines.js';
import { inpaintMode } from './modes/inpaint.js';
import { SeedVariants } from './variants.js';
import { Upscaler } from './upscale.js';
import { PictureView } from './picture.js';
import { healthPoller } from './health.js';
import { offerControlNets } from './modes/guides.js';

const MODES = [promptMode, sketchMode, cameraMode, outlinesMode, inpaintMode];
const MAX_SEED = 4294967295;

const state = {
  mode: promptMode,
  requestId: 0,
  shownId: -1,              // request id of the frame on screen
  shownKind: null,
  errorId: -1,              // request that caused the error on screen
  sentAt: new Map(),        // requestId → performance.now() when sent
  ready: false,
  imageToImage: true,
  controlNets: [],          // the server's ControlNets (GET /api/info)
  dirty: false,             // changed while offline: send on reconnect
  pendingKeep: false,       // Keep pressed while offline
  inFlight: 0, inFlightAt: 0, pendingSend: false, // pacing of `paced` modes
  sizeChosen: false,
};

// ------------------------------------------------------------------ helpers

function randomSeed() { return Math.floor(Math.random() * MAX_SEED); }
function currentSize() { return $('size').value.split('x').map(Number); }
function currentSeed() {
  const v = Number($('seed').value);
  return Number.isInteger(v) && v >= 0 && v <= MAX_SEED ? v : 0;
}
function setSeed(seed) { $('seed').value = String(((seed % (MAX_SEED + 1)) + (MAX_SEED + 1)) % (MAX_SEED + 1)); }
function guidanceOn() { return $('negative').value.trim().length > 0; }

// ------------------------------------------------------------------ requests

function parameters(extra = {}) {
  const [width, height] = currentSize();
  const params = {
    type: 'generate', requestId: ++state.requestId,
    prompt: $('prompt').value, negative: $('negative').value,
    guidance: guidanceOn() ? Number($('guidance').value) : 0,
    seed: currentSeed(), steps: Number(document.querySelector('input[name="steps"]:checked').value),
    width, height, style: $('style').value || null, live: true, refine: false, format: 'jpeg',
    ...extra,
  };
  const input = state.mode.input();
  if (input) Object.assign(params, input);
  return params;
}

function hasInput() { return $('prompt').value.trim().length > 0 || state.mode.hasImage(); }

/** Sends the current parameters (latest wins on the server); offline, remembers to send them on reconnect. */
function generate(extra = {}) {
  updateKeepButton();
  if (!hasInput()) return;
  if (!connection.isOpen) {
    state.dirty = true;
    if (extra.keep) { state.pendingKeep = true; toast('Not connected: the picture is kept when the connection is back.'); }
    return;
  }
  if (state.mode.paced && state.inFlight && !extra.keep && performance.now() - state.inFlightAt < 10_000) {
    state.pendingSend = true;
    return;
  }
  const params = parameters(extra);
  connection.send(params);
  state.dirty = false;
  state.pendingSend = false;
  state.inFlight = params.requestId;
  state.inFlightAt = performance.now();
  state.sentAt.set(params.requestId, performance.now());
  if (state.sentAt.size > 200) state.sentAt.delete(state.sentAt.keys().next().value);
  if (extra.keep) clearErrors(['keep-error']);
}

/** The answer to request `id` arrived (a frame, an error or busy): a paced mode may send its newest input. */
function answered(id) {
  if (id < state.inFlight) return;
  state.inFlight = 0;
  if (state.pendingSend) generate();
}

function keep() {
  if (!hasInput()) { showError('Type a prompt first: there is no picture to keep yet.', 'keep'); return; }
  generate({ keep: true });
}

function updateKeepButton() { $('keep-btn').disabled = !hasInput(); }

function onPromptTyped() {
  if (!$('seed-lock').checked) setSeed(randomSeed());
  generate();
}

function stepSeed(delta) { setSeed(currentSeed() + delta); generate(); }

// ------------------------------------------------------------------ variants

const variants = new SeedVariants({
  send: (base, count) => {
    if (!connection.isOpen) return null;
    const params = parameters({ type: 'variants', seed: base, count });
    connection.send(params);
    return params.requestId;
  },
  adopt: (seed) => {
    setSeed(seed);
    $('seed-lock').checked = true;
    generate({ refine: true });
    toast(`Seed ${seed} in use`);
  },
});

function requestVariants() {
  if (!hasInput()) { showError('Type a prompt first.', 'prompt'); return; }
  variants.request(randomSeed() % (MAX_SEED - 8));
}

// ------------------------------------------------------------------ frames

function showFrame(header, blob) {
  if (header.kind === 'variant') { variants.show(header, blob); return; }
  if (header.kind === 'upscaled') { upscaler.show(header, blob); return; }
  answered(header.requestId);
  // Never go back in time; a refined frame may replace the live frame of the same request.
  if (header.requestId < state.shownId) return;
  if (header.requestId === state.shownId && header.kind === 'live' && state.shownKind === 'refined') return;
  picture.show(header, blob, state.sentAt.get(header.requestId));
  state.shownId = header.requestId;
  state.shownKind = header.kind;
  if (header.requestId > state.errorId) clearErrors(['prompt-error', 'negative-error', 'seed-error', 'size-error', 'style-error', 'mode-error', 'picture-error']);
  if (header.file) { toast('Kept'); kept.load(); }
  state.mode.pictureShown?.();
  upscaler.pictureShown();
}

// ------------------------------------------------------------------ modes

const app = { generate, size: currentSize, mode: () => state.mode, pictureRate: () => picture.rate() };

function setMode(id) {
  const next = MODES.find((m) => m.id === id) ?? promptMode;
  if (next === state.mode) return;
  state.mode.deactivate();
  state.mode = next;
  document.body.dataset.mode = next.id;
  $('stage').dataset.panes = String(next.panes);
  $('input-pane').hidden = next.panes < 2;
  $('mode-tools').hidden = next === promptMode;
  document.querySelector(`input[name="mode"][value="${next.id}"]`).checked = true;
  state.inFlight = 0;
  clearErrors(['mode-error']);
  next.activate();
  generate();
}

/** Offers the server's ControlNets to the modes; a mode that needs one is unavailable without. */
async function loadInfo() {
  let names = [];
  try {
    const response = await apiFetch('/api/info');
    if (response.ok) names = (await response.json()).model?.controlnets ?? [];
  } catch { /* offline: try again on the next connect */ }
  state.controlNets = names;
  offerControlNets(MODES, names);
  if (state.mode.needsControlNet && names.length === 0) setMode('prompt');
}

// ------------------------------------------------------------------ connection & health

const connection = new RealtimeConnection(() => withKey(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`));
const picture = new PictureView({ isOpen: () => connection.isOpen });

function setConnection(kind) {
  document.body.dataset.connection = kind;
  if (kind === 'offline') {
    setStatus('Disconnected — reconnecting…', 'error');
    setOverlay('Disconnected from the server — reconnecting… Your changes are sent when the connection is back.', 'offline');
    picture.offline();
  }
}

connection.addEventListener('open', () => {
  setConnection('online');
  setOverlay(null);
  if (state.ready) setStatus('Ready', 'ready');
  state.inFlight = 0;
  // Input made during the outage, a keep asked for, and variants still loading are sent again now.
  const keepNow = state.pendingKeep;
  state.pendingKeep = false;
  if (state.dirty || keepNow || state.shownId < 0) generate(keepNow ? { keep: true } : {});
  variants.resendIfIncomplete();
});
connection.addEventListener('close', () => {
  setConnection('offline');
  upscaler.connectionLost();
  pollHealth();
});
connection.addEventListener('frame', (e) => showFrame(e.detail.header, e.detail.blob));
connection.addEventListener('message', (e) => {
  const m = e.detail;
  if (m.requestId != null && upscaler.owns(m.requestId)) { upscaler.message(m); return; }
  switch (m.type) {
    case 'hello':
      applyModelInfo(m);
      if (m.state === 'ready') loadInfo();
      break;
    case 'status':
      if (m.state === 'ready') { state.ready = true; setStatus('Ready', 'ready'); setOverlay(null); loadInfo(); }
      else if (m.state === 'failed') { setStatus('Model failed to load', 'error'); showError(m.error ?? 'The model failed to load.'); }
      else { setStatus(m.state === 'warming' ? 'Warming up…' : 'Loading model…', 'loading'); setOverlay('The model is loading… the first picture appears as soon as it is ready.'); }
      break;
    case 'busy':
      setStatus('Server busy — retrying', 'loading');
      setTimeout(() => { if (m.requestId >= state.inFlight) { setStatus('Ready', 'ready'); answered(m.requestId); generate(); } }, m.retryAfterMs ?? 1000);
      break;
    case 'error':
      if (m.requestId !== undefined && m.requestId !== null) answered(m.requestId);
      if (m.requestId === undefined || m.requestId === null || m.requestId >= state.shownId) {
        state.errorId = m.requestId ?? state.requestId;
        showError(m.message, m.field);
      }
      break;
  }
});

function applyModelInfo(m) {
  if (m.state === 'ready') { state.ready = true; setStatus(`Ready · ${m.model}`, 'ready'); }
  kept.maxImages = m.historyMaxImages ?? 0;
  kept.update();
  if (m.imageToImage === false) {
    state.imageToImage = false;
    for (const mode of MODES.filter((x) => x.needsImageToImage)) {
      const radio = document.querySelector(`input[name="mode"][value="${mode.id}"]`);
      radio.disabled = true;
      radio.parentElement.title = 'This model has no image encoder: only Prompt mode is available.';
    }
    if (state.mode.needsImageToImage) setMode('prompt');
  }
  if (m.defaultSize && !state.sizeChosen) {
    const value = `${m.defaultSize}x${m.defaultSize}`;
    if ([...$('size').options].some((o) => o.value === value)) { $('size').value = value; updateAspect(); }
  }
}

const pollHealth = healthPoller({ isOpen: () => connection.isOpen, setReady: (ready) => { state.ready = ready; } });

async function loadStyles() {
  const response = await apiFetch('/api/styles');
  if (response.status === 401) { await askForKey(); return loadStyles(); }
  if (!response.ok) return;
  for (const s of await response.json()) {
    const option = document.createElement('option');
    option.value = s.id;
    option.textContent = s.name;
    $('style').append(option);
  }
}

function askForKey() {
  return new Promise((resolve) => {
    const dialog = $('key-dialog');
    dialog.addEventListener('close', () => {
      setApiKey($('key-input').value.trim());
      connection.reconnect();
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}

// ------------------------------------------------------------------ wiring

function updateAspect() {
  const [w, h] = currentSize();
  document.documentElement.style.setProperty('--ar', String(w / h));
  state.mode.resize?.(w, h);
}

function updateGuidance() {
  $('guidance-cost').hidden = !guidanceOn();
  $('guidance-out').textContent = Number($('guidance').value).toFixed(1);
}

const upscaler = new Upscaler({
  picture: () => ($('frame').hidden ? null : $('frame')),
  send: (message) => (connection.send({ ...message, requestId: state.requestId + 1 }) ? ++state.requestId : null),
  kept: () => kept.load(),
});

const kept = new History({
  useSeed: (seed) => { setSeed(seed); $('seed-lock').checked = true; generate(); toast(`Seed ${seed} in use`); },
  useImage: async (blob) => { setMode('sketch'); await sketchMode.loadFile(blob); },
});

$('prompt').addEventListener('input', onPromptTyped);
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); keep(); }
});
$('keep-btn').addEventListener('click', keep);
$('negative').addEventListener('input', () => { updateGuidance(); generate(); });
$('guidance').addEventListener('input', () => { updateGuidance(); if (guidanceOn()) generate(); });
$('style').addEventListener('change', () => generate());
$('size').addEventListener('change', () => { state.sizeChosen = true; updateAspect(); generate(); });
document.querySelectorAll('input[name="steps"]').forEach((r) => r.addEventListener('change', () => generate()));
document.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener('change', () => setMode(r.value)));
$('seed').addEventListener('input', () => generate());
$('seed-prev').addEventListener('click', () => stepSeed(-1));
$('seed-next').addEventListener('click', () => stepSeed(1));
$('seed-random').addEventListener('click', () => { setSeed(randomSeed()); generate(); });
$('variants-btn').addEventListener('click', requestVariants);
$('stats-toggle').addEventListener('click', () => {
  const on = $('stats-toggle').getAttribute('aria-pressed') !== 'true';
  $('stats-toggle').setAttribute('aria-pressed', String(on));
  $('stats').hidden = !on;
  try { localStorage.setItem('turbogen-stats', on ? '1' : ''); } catch { /* ignore */ }
});
document.querySelectorAll('.example').forEach((b) => b.addEventListener('click', () => {
  $('prompt').value = b.textContent;
  $('prompt').focus();
  generate();
}));

for (const target of [$('input-pane'), $('frame-box')]) {
  target.addEventListener('dragover', (e) => { e.preventDefault(); target.classList.add('drop'); });
  target.addEventListener('dragleave', () => target.classList.remove('drop'));
  target.addEventListener('drop', async (e) => {
    e.preventDefault();
    target.classList.remove('drop');
    // A mode that takes files (photo outlines) keeps it; otherwise the drawing surface does.
    if (state.mode.loadFile) { await state.mode.loadFile(e.dataTransfer?.files?.[0]); return; }
    if (!state.imageToImage) { toast('This model cannot start from an image.'); return; }
    setMode('sketch');
    await sketchMode.loadFile(e.dataTransfer?.files?.[0]);
  });
}

document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') { e.preventDefault(); keep(); return; }
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
  if (isTextField(document.activeElement) && !e.altKey) return;
  if (e.target instanceof HTMLInputElement && ['radio', 'range'].includes(e.target.type) && !e.altKey) return;
  e.preventDefault();
  stepSeed(e.key === 'ArrowRight' ? 1 : -1);
});

// ------------------------------------------------------------------ start

for (const mode of MODES) mode.init(app);
offerControlNets(MODES, []);
try { if (localStorage.getItem('turbogen-stats')) $('stats-toggle').click(); } catch { /* ignore */ }
updateAspect();
updateGuidance();
updateKeepButton();
pollHealth();
loadStyles().then(() => kept.load()).catch(() => {});
connection.connect();
$('prompt').focus();
window.turbogen = { state, identity }; // for tests and the curious
