// Health polling while the WebSocket is down or the model loads: GET /health says loading, warming, ready or failed,
// and the badge and the picture's overlay say so.
import { showError, setStatus, setOverlay } from './ui.js';

/** A function that polls /health every second until the model is ready and the connection open (or it failed). */
export function healthPoller({ isOpen, setReady }) {
  let healthTimer = null;
  async function pollHealth() {
    clearTimeout(healthTimer);
    try {
      const health = await (await fetch('/health')).json();
      if (health.status === 'ready') {
        setReady(true);
        if (isOpen()) { setStatus(`Ready · ${health.model}`, 'ready'); setOverlay(null); return; }
        setStatus('Reconnecting…', 'loading');
      } else if (health.status === 'failed') {
        setReady(false);
        setStatus('Model failed to load', 'error');
        showError(`The model failed to load: ${health.error ?? 'unknown error'}`);
        return;
      } else {
        setReady(false);
        setStatus(health.status === 'warming' ? 'Warming up…' : 'Loading model…', 'loading');
        setOverlay('The model is loading… the first picture appears as soon as it is ready.');
      }
    } catch {
      setStatus('Server unreachable — retrying', 'error');
    }
    healthTimer = setTimeout(pollHealth, 1000);
  }
  return pollHealth;
}
