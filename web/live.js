// live.js: one WebSocket to /v1/ws for the whole app. It subscribes to the
// server's own channels (src/observe/live.h):
//   hookstream.events      event.received   {event_id, source_id, status, received_at}
//                          ingest.refused   {source_id, status, reason, error, request_id, refused_at}
//   hookstream.deliveries  delivery.attempt {attempt: {...}, destination: {id, circuit, queued, ...}}
//                          circuit.reset    {destination: {...}}
// and hands each message's data to the listeners of its type. When the
// socket drops it reconnects with exponential backoff (1 s doubling to
// 30 s) and subscribes again; listeners of "reconnected" then refetch what
// they show, since messages sent meanwhile are lost.

const CHANNELS = ['hookstream.events', 'hookstream.deliveries'];

export class Live {
  constructor(keyFn) {
    this.keyFn = keyFn;
    this.listeners = new Map();
    this.ws = null;
    this.delay = 1000;
    this.timer = null;
    this.stopped = true;
    this.everUp = false;
    this.state = 'down';
    // the last refusal of each source heard since sign-in: a page that
    // renders after it (the sources list, re-rendered after a save) still
    // shows it
    this.lastRefused = new Map();
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type)?.delete(fn);
  }

  emit(type, data) {
    for (const fn of [...(this.listeners.get(type) || [])]) {
      try { fn(data); } catch (e) { console.warn('live listener failed', e); }
    }
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); this.ws = null; }
    this.setState('down');
    this.everUp = false;
    this.lastRefused.clear();
  }

  connect() {
    if (this.stopped) return;
    this.setState('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/v1/ws?token=${encodeURIComponent(this.keyFn())}`);
    this.ws = ws;
    let subscribed = 0;
    ws.onopen = () => {
      for (const channel of CHANNELS) ws.send(JSON.stringify({ type: 'subscribe', channel }));
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'subscribed') {
        if (++subscribed === CHANNELS.length) {
          this.delay = 1000;
          this.setState('up');
          if (this.everUp) this.emit('reconnected');
          this.everUp = true;
        }
        return;
      }
      if (msg.type === 'error') { console.warn('live:', msg.error); return; }
      if (msg.type === 'ingest.refused' && msg.data?.source_id) this.lastRefused.set(msg.data.source_id, msg.data);
      this.emit(msg.type, msg.data || {});
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.setState('down');
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    };
    // an error is always followed by close, which schedules the retry
    ws.onerror = () => {};
  }
}
