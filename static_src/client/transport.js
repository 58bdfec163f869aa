// Getting a request to the gateway and its answer back: XHR POST of q= on
// our own origin; <script> tags with p= (JSONP) from any other origin,
// split into b: fragments when the URL would be too long; a beacon for the
// last sync as the page goes away.

export class TransportError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "offline": not reached, retry; "error": it answered badly
  }
}

// The p= values for `request`: one, or b: fragments each short enough that
// `url` plus it stays within `maxUrl` characters. The fragments' data is the
// request encoded once; the URL encoding adds the second layer (PROTOCOL.md).
export function scriptRequests(url, request, maxUrl, id) {
  const whole = encodeURIComponent(request);
  const base = url.length + 3; // "?p=" or "&p="
  if (base + whole.length <= maxUrl) return [whole];
  // Encoding the data again turns each "%" into "%25": at most 5/3 longer.
  const room = maxUrl - base - encodeURIComponent(`b:${id} 99999 99999 \n\n`).length;
  const size = Math.max(16, Math.floor((room * 3) / 5));
  const count = Math.ceil(whole.length / size);
  const out = [];
  for (let i = 0; i < count; i++) {
    const piece = whole.slice(i * size, (i + 1) * size);
    out.push(encodeURIComponent(`b:${id} ${count} ${i + 1} ${piece}\n\n`));
  }
  return out;
}

// An answer over q= ends with an empty line; one that does not was cut short.
function checkAnswer(text) {
  if (text !== "" && !text.endsWith("\n\n")) throw new TransportError("error", "truncated answer");
  return text;
}

// POST q=request; resolves with read(responseText) (by default the sync
// answer, checked whole). A non-200 rejects with err.status set.
export function postRequest(url, request, timeout, read = checkAnswer) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    xhr.timeout = timeout;
    xhr.onload = () => {
      if (xhr.status === 200) {
        try {
          resolve(read(xhr.responseText));
        } catch (err) {
          reject(err);
        }
      } else {
        const kind = xhr.status === 503 || xhr.status === 0 ? "offline" : "error";
        const err = new TransportError(kind, `HTTP ${xhr.status}: ${xhr.responseText.slice(0, 200)}`);
        err.status = xhr.status;
        if (xhr.status === 429) err.retryAfter = Number(xhr.getResponseHeader("Retry-After")) || 0;
        reject(err);
      }
    };
    xhr.onerror = () => reject(new TransportError("offline", "network error"));
    xhr.ontimeout = () => reject(new TransportError("offline", "timed out"));
    xhr.onabort = () => reject(new TransportError("offline", "aborted"));
    xhr.send("q=" + encodeURIComponent(request));
  });
  return { promise, abort: () => xhr.abort() };
}

// One <script> at a time: the gateway's answer calls mobwrite.callback(),
// which hands it to whichever script is loading. Fragments go in order;
// the last one's callback carries the joined request's answer.
export class ScriptChannel {
  constructor() {
    this.current = null;
  }

  callback(text) {
    if (this.current) this.current.answer = String(text);
  }

  send(url, request, maxUrl) {
    const id = Math.random().toString(36).slice(2, 10) || "0";
    const values = scriptRequests(url, request, maxUrl, id);
    const join = url.includes("?") ? "&" : "?";
    let stopped = null;
    let script = null;
    const load = (value) => new Promise((resolve, reject) => {
      const slot = { answer: null };
      this.current = slot;
      script = document.createElement("script");
      script.async = true;
      script.src = `${url}${join}p=${value}`;
      const done = () => {
        script.remove();
        if (this.current === slot) this.current = null;
      };
      script.onload = () => {
        done();
        if (slot.answer === null) reject(new TransportError("error", "the gateway sent no answer"));
        else resolve(slot.answer);
      };
      script.onerror = () => {
        done();
        reject(new TransportError("offline", "script request failed"));
      };
      stopped = () => {
        done();
        reject(new TransportError("offline", "aborted"));
      };
      document.head.appendChild(script);
    });
    const promise = (async () => {
      let answer = "";
      for (const value of values) answer = await load(value);
      return answer ? answer + "\n" : ""; // the p= answer leaves out the closing empty line
    })();
    return { promise, abort: () => stopped && stopped() };
  }
}

// The last sync as the page goes away: nobody reads the answer. A form
// body is a CORS "simple" request, so this works across origins too.
export function beacon(url, request) {
  if (!navigator.sendBeacon) return false;
  return navigator.sendBeacon(url, new URLSearchParams({ q: request }));
}
