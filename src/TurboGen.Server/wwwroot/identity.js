// Who this browser is to the server: the API key (when the server has one) and the client id that owns this
// browser's kept pictures. The id is random, kept in localStorage, and sent as the X-TurboGen-Client header on fetches
// and as the turbogen_client cookie (SameSite=Strict) on what the browser loads by itself: the WebSocket, <img src>,
// download links.

const CLIENT_KEY = 'turbogen-client';

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // works on plain http too, unlike randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function loadClientId() {
  let id = null;
  try { id = localStorage.getItem(CLIENT_KEY); } catch { /* storage disabled: a per-page id */ }
  if (!id || !/^[A-Za-z0-9_-]{16,128}$/.test(id)) {
    id = newClientId();
    try { localStorage.setItem(CLIENT_KEY, id); } catch { /* ignore */ }
  }
  document.cookie = `turbogen_client=${id}; path=/; SameSite=Strict; max-age=31536000`;
  return id;
}

export const identity = {
  clientId: loadClientId(),
  apiKey: sessionStorage.getItem('turbogen-key') || new URLSearchParams(location.hash.slice(1)).get('key') || null,
};

export function setApiKey(key) {
  identity.apiKey = key || null;
  if (identity.apiKey) sessionStorage.setItem('turbogen-key', identity.apiKey);
}

/** A URL the browser loads by itself (img, a, WebSocket): the key goes in the query when there is one. */
export function withKey(url) {
  if (!identity.apiKey) return url;
  return url + (url.includes('?') ? '&' : '?') + 'key=' + encodeURIComponent(identity.apiKey);
}

/** fetch with the key and the client id as headers. */
export function apiFetch(url, options = {}) {
  const headers = { 'X-TurboGen-Client': identity.clientId, ...(options.headers ?? {}) };
  if (identity.apiKey) headers.Authorization = 'Bearer ' + identity.apiKey;
  return fetch(url, { ...options, headers });
}
