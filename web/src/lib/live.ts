// One WebSocket per signed-in tab: frames out, frames in, reconnects with backoff. On every
// reconnect the listeners' `onReconnect` runs, so the screens catch up (messages by
// ?after=, events by the feed) and say so.
export interface ServerFrame {
  type: string;
  id: string;
  at: string;
  data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type Status = "connecting" | "live" | "offline";

type Listener = (frame: ServerFrame) => void;

export class Live {
  private ws?: WebSocket;
  private listeners = new Set<Listener>();
  private statusListeners = new Set<(s: Status, reconnected: boolean) => void>();
  private attempts = 0;
  private closed = false;
  private everOpen = false;
  private timer?: number;
  status: Status = "connecting";

  constructor(
    private url: string,
    private token: () => Promise<string | undefined>,
  ) {}

  start(): void {
    this.closed = false;
    void this.open();
  }

  private async open(): Promise<void> {
    const token = await this.token();
    if (this.closed || !token) return;
    this.setStatus("connecting", false);
    const ws = new WebSocket(`${this.url}/?token=${encodeURIComponent(token)}`);
    this.ws = ws;
    ws.onopen = () => {
      const again = this.everOpen;
      this.everOpen = true;
      this.attempts = 0;
      this.setStatus("live", again);
    };
    ws.onmessage = (ev) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      for (const l of this.listeners) l(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.setStatus("offline", false);
      if (this.closed) return;
      const delay = Math.min(10_000, 500 * 2 ** this.attempts++);
      this.timer = window.setTimeout(() => void this.open(), delay);
    };
  }

  private setStatus(s: Status, reconnected: boolean): void {
    this.status = s;
    for (const l of this.statusListeners) l(s, reconnected);
  }

  send(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Go away as a lost network would, until resume() (the catch-up then runs). */
  pause(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.ws?.close();
  }

  resume(): void {
    this.start();
  }

  stop(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.ws?.close();
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (s: Status, reconnected: boolean) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
}
