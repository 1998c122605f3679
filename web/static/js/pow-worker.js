// Solves an ALTCHA v2 challenge (PBKDF2/SHA-256) off the main thread with WebCrypto.
// password = nonce bytes ‖ counter (big-endian uint32); the derived key must start with
// keyPrefix (hex). Replies { counter, derivedKey, time } or { error }.
const hexToBytes = (hex) => {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
};
const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

self.onmessage = async (event) => {
  const p = event.data.parameters;
  try {
    if (p.algorithm !== "PBKDF2/SHA-256") throw new Error("unsupported algorithm " + p.algorithm);
    const nonce = hexToBytes(p.nonce);
    const salt = hexToBytes(p.salt);
    const prefix = String(p.keyPrefix).toLowerCase();
    const password = new Uint8Array(nonce.length + 4);
    password.set(nonce, 0);
    const view = new DataView(password.buffer);
    const started = performance.now();
    for (let counter = 0; counter < 0xffffffff; counter++) {
      view.setUint32(nonce.length, counter, false);
      const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      const bits = await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt, iterations: p.cost },
        key,
        p.keyLength * 8,
      );
      const hex = toHex(bits);
      if (hex.startsWith(prefix)) {
        self.postMessage({ counter, derivedKey: hex, time: performance.now() - started });
        return;
      }
    }
    self.postMessage({ error: "no solution" });
  } catch (e) {
    self.postMessage({ error: String(e) });
  }
};
