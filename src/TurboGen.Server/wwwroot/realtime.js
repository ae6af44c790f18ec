// The real-time WebSocket connection: JSON requests out, frames (binary) and JSON messages in, reconnecting.
// Frame message layout: [4-byte big-endian header length][UTF-8 JSON header][JPEG, WebP or (upscaled frames) PNG bytes].

export function parseFrame(buffer) {
  const view = new DataView(buffer);
  const length = view.getUint32(0, false);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const type = { webp: 'image/webp', png: 'image/png' }[header.format] ?? 'image/jpeg';
  return { header, blob: new Blob([new Uint8Array(buffer, 4 + length)], { type }) };
}

export class RealtimeConnection extends EventTarget {
  constructor(urlProvider) {
    super();
    this.urlProvider = urlProvider;
    this.socket = null;
    this.retryMs = 500;
    this.closedByUs = false;
  }

  get isOpen() { return this.socket?.readyState === WebSocket.OPEN; }

  connect() {
    this.closedByUs = false;
    const socket = new WebSocket(this.urlProvider());
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryMs = 500;
      this.dispatchEvent(new Event('open'));
    });
    socket.addEventListener('message', (e) => {
      if (typeof e.data === 'string') {
        let message;
        try { message = JSON.parse(e.data); } catch { return; }
        this.dispatchEvent(new CustomEvent('message', { detail: message }));
      } else {
        this.dispatchEvent(new CustomEvent('frame', { detail: parseFrame(e.data) }));
      }
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.dispatchEvent(new Event('close'));
      if (!this.closedByUs) {
        setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 3000);
      }
    });
  }

  reconnect() {
    this.closedByUs = true;
    const old = this.socket;
    this.socket = null;
    old?.close();
    this.connect();
  }

  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }
}
