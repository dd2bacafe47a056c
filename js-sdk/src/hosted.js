// Hosted-fields mode, the merchant's side: the card inputs live in an iframe served from
// the js host, so neither the merchant's page nor any script injected into it can read
// them. The page and the iframe talk by postMessage, each checking the other's origin.

import { accept, message, newId } from "./protocol.js";

const EVENTS = ["ready", "change", "focus", "blur", "submit"];
// The vault answers in well under a second; past this the iframe is gone or stuck.
const TOKENIZE_TIMEOUT_MS = 60_000;

const NOT_READY = {
  type: "api_error",
  code: "fields_not_ready",
  message: "The card fields have not loaded. Reload the page and try again.",
};
const TIMED_OUT = {
  type: "api_connection_error",
  code: "timeout",
  message: "The card could not be sent in time. Please try again.",
};

export class StrongroomError extends Error {
  constructor({ type, code, message: text, param }) {
    super(text);
    this.name = "StrongroomError";
    Object.assign(this, { type, code, param });
  }
}

/**
 * Card fields in an iframe. `options`: {style, placeholders, fields, title}; `style` takes
 * {base, focus, invalid, complete}, each a map of CSS properties (camelCase) and
 * "::placeholder" of the same; `fields` lists which inputs to show, of "number", "exp",
 * "cvc" and "name" (default the first three).
 */
export class HostedFields {
  constructor(settings, options = {}) {
    this.id = newId();
    this.fieldsUrl = new URL(settings.fieldsPage, settings.scriptUrl);
    this.origin = this.fieldsUrl.origin;
    this.settings = settings;
    this.options = options;
    this.frame = null;
    this.handlers = Object.fromEntries(EVENTS.map((name) => [name, []]));
    this.pending = null;
    this.ready = false;
    this.queue = []; // messages for the iframe until it says it is ready
    this.state = { complete: false, empty: true, brand: "unknown", error: null };
    this.onMessage = this.onMessage.bind(this);
  }

  /** Render the iframe inside `target` (an element or a selector); returns this. */
  mount(target) {
    const container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) throw new Error(`Strongroom.fields: nothing matches ${String(target)}.`);
    if (this.frame) throw new Error("Strongroom.fields: already mounted.");
    const config = {
      id: this.id,
      origin: location.origin,
      key: this.settings.key,
      style: this.options.style ?? {},
      placeholders: this.options.placeholders ?? {},
      fields: this.options.fields ?? ["number", "exp", "cvc"],
    };
    const frame = document.createElement("iframe");
    // The fragment never reaches a server: the configuration stays in this browser.
    frame.src = `${this.fieldsUrl.href}#${encodeURIComponent(JSON.stringify(config))}`;
    frame.name = `strongroom-${this.id}`;
    frame.title = this.options.title ?? "Secure card payment input";
    frame.setAttribute("allow", "payment");
    frame.setAttribute("scrolling", "no");
    frame.style.cssText = "border:0;width:100%;height:0;display:block;overflow:hidden;";
    window.addEventListener("message", this.onMessage);
    container.append(frame);
    this.frame = frame;
    return this;
  }

  /** Call `handler(detail)` on "ready", "change", "focus", "blur" or "submit" (Enter). */
  on(name, handler) {
    if (!this.handlers[name]) throw new Error(`Strongroom.fields: no event "${name}".`);
    this.handlers[name].push(handler);
    return this;
  }

  /**
   * Send the card from the iframe to the vault. Resolves to the token
   * ({id: "card_…", brand, last4, exp_month, exp_year, livemode}); rejects with a
   * StrongroomError ({code, message, param}) that the page can show.
   */
  tokenize() {
    if (!this.frame) return Promise.reject(new Error("Strongroom.fields: mount it first."));
    if (!this.ready) return Promise.reject(new StrongroomError(NOT_READY));
    if (this.pending) return this.pending.promise; // one card at a time: a double click waits
    const nonce = newId();
    const pending = { nonce };
    pending.promise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(nonce, { error: TIMED_OUT }), TOKENIZE_TIMEOUT_MS);
      Object.assign(pending, { resolve, reject, timer });
    });
    this.pending = pending;
    this.post("tokenize", { nonce });
    return pending.promise;
  }

  /** Empty every input. */
  clear() {
    this.post("clear");
  }

  /** Move focus into the iframe's `field` ("number" by default). */
  focus(field = "number") {
    this.post("focus", { field });
  }

  /** Restyle: the same shape as the `style` option. */
  update(style) {
    this.post("style", { style });
  }

  destroy() {
    window.removeEventListener("message", this.onMessage);
    this.frame?.remove();
    this.frame = null;
    this.ready = false;
    if (this.pending) this.settle(this.pending.nonce, { error: NOT_READY });
  }

  post(type, data) {
    const sent = message(type, this.id, data);
    if (!this.ready) this.queue.push(sent);
    else this.frame?.contentWindow?.postMessage(sent, this.origin);
  }

  // Answer the pending tokenize call `nonce` with {token} or {error}.
  settle(nonce, { token, error }) {
    const pending = this.pending;
    if (pending?.nonce !== nonce) return;
    this.pending = null;
    clearTimeout(pending.timer);
    if (token) pending.resolve(token);
    else pending.reject(new StrongroomError(error ?? {}));
  }

  onMessage(event) {
    const data = accept(event, this.frame?.contentWindow, this.origin, this.id);
    if (!data) return;
    if (data.type === "resize" && Number.isFinite(data.height)) {
      this.frame.style.height = `${Math.ceil(Math.min(Math.max(data.height, 0), 2000))}px`;
    } else if (data.type === "result") {
      this.settle(data.nonce, data);
    } else if (EVENTS.includes(data.type)) {
      if (data.type === "ready") {
        this.ready = true;
        for (const queued of this.queue.splice(0)) {
          this.frame.contentWindow.postMessage(queued, this.origin);
        }
      }
      if (data.type === "change") {
        const { complete, empty, brand, error } = data;
        this.state = { complete: !!complete, empty: !!empty, brand, error: error ?? null };
      }
      for (const handler of this.handlers[data.type]) handler({ ...this.state, field: data.field });
    }
  }
}
