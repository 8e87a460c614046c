/* nnhand's self-checking page: every blank is checked as it is typed, in the browser, offline.
   The data block (selfcheck.py) holds salted hashes of what each cell accepts and sealed
   texts, never an answer. A typed number is read as nnhand's reader reads it
   (nnhand/core/reading.py read_number), as an exact fraction of BigInts, never a float. */
(function () {
  "use strict";

  // ---------------------------------------------------------------------- SHA-256 (FIPS 180-4)
  // Written out: crypto.subtle answers only asynchronously and not on every page opened
  // from a file.
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  function ror(x, n) {
    return (x >>> n) | (x << (32 - n));
  }

  function sha256(bytes) {
    const n = bytes.length;
    const words = ((n + 9 + 63) >> 6) << 4; // 16 words a block, room for the 0x80 and the length
    const w = new Uint32Array(words);
    for (let i = 0; i < n; i++) w[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
    w[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
    w[words - 2] = Math.floor(n / 0x20000000);
    w[words - 1] = n * 8;
    const h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    const m = new Uint32Array(64);
    for (let b = 0; b < words; b += 16) {
      for (let t = 0; t < 16; t++) m[t] = w[b + t];
      for (let t = 16; t < 64; t++) {
        const x = m[t - 15];
        const y = m[t - 2];
        const s0 = ror(x, 7) ^ ror(x, 18) ^ (x >>> 3);
        const s1 = ror(y, 17) ^ ror(y, 19) ^ (y >>> 10);
        m[t] = (m[t - 16] + s0 + m[t - 7] + s1) | 0;
      }
      let [a, bb, c, d, e, f, g, hh] = h;
      for (let t = 0; t < 64; t++) {
        const t1 = (hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + m[t]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = bb;
        bb = a;
        a = (t1 + t2) | 0;
      }
      h[0] += a;
      h[1] += bb;
      h[2] += c;
      h[3] += d;
      h[4] += e;
      h[5] += f;
      h[6] += g;
      h[7] += hh;
    }
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = (h[i >> 2] >>> (24 - (i & 3) * 8)) & 255;
    return out;
  }

  const encoder = new TextEncoder();

  function sha256hex(text) {
    return Array.from(sha256(encoder.encode(text)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------------------------------------------------------------------- exact fractions

  const abs = (a) => (a < 0n ? -a : a);

  function gcd(a, b) {
    a = abs(a);
    b = abs(b);
    while (b) [a, b] = [b, a % b];
    return a;
  }

  function Q(n, d = 1n) {
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n, d) || 1n;
    return { n: n / g, d: d / g };
  }

  const cmp = (a, b) => {
    const l = a.n * b.d;
    const r = b.n * a.d;
    return l < r ? -1 : l > r ? 1 : 0;
  };
  const canon = (q) => (q.d === 1n ? String(q.n) : q.n + "/" + q.d);
  const pow10 = (e) => 10n ** BigInt(e);

  function fromCanon(text) {
    const [n, d] = text.split("/");
    return Q(BigInt(n), BigInt(d || "1"));
  }

  function floorDiv(a, b) {
    // b > 0; BigInt division rounds toward zero
    const q = a / b;
    return a % b !== 0n && a < 0n ? q - 1n : q;
  }

  function roundHalfAway(v, decimals) {
    // values.round_half_away: halves away from zero
    const scale = pow10(decimals);
    const scaled = abs(v.n) * scale;
    let whole = scaled / v.d;
    if (2n * (scaled - whole * v.d) >= v.d) whole += 1n;
    return Q(v.n < 0n ? -whole : whole, scale);
  }

  function roundHalfEven(n, d) {
    // Python's round() of the fraction n/d (d > 0)
    const q = floorDiv(n, d);
    const twice = 2n * (n - q * d);
    if (twice !== d) return twice > d ? q + 1n : q;
    return q % 2n === 0n ? q : q + 1n;
  }

  // ---------------------------------------------------------------------- the reader (reading.read_number)

  const ACCEPTED = "write 3, -1.5 or 2/3";
  const MAX_TEXT = 64;
  const MAX_EXPONENT = 400;
  const MAX_MAGNITUDE = 10n ** 12n;
  const SHORT_PLACES = 6;
  // What Python's str.isspace() calls a space (JavaScript's \s differs).
  const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
  const SPACE = new RegExp("[" + PY_SPACE + "]");
  const SPACES = new RegExp("[" + PY_SPACE + "_]", "g");
  const ENDS = new RegExp("^[" + PY_SPACE + "]+|[" + PY_SPACE + "]+$", "g");
  const SLASH = new RegExp("[" + PY_SPACE + "]*/[" + PY_SPACE + "]*", "g");
  const MINUSES = /[\u2212\u2013\u2012\ufe63\uff0d]/g;
  const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE]([+-]?\d+))?(\/[+-]?(\d+(\.\d*)?|\.\d+))?$/;
  const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
  const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
  // The 0 of every run of Unicode decimal digits (category Nd, Unicode 14): Python's \d and
  // int() read them all (a full-width 3 is 3), so the page does too.
  const ZEROS = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50,
    0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40,
    0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066,
    0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950,
    0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6,
    0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
  ];

  const pyStrip = (text) => text.replace(ENDS, "");
  const length = (text) => Array.from(text).length; // in code points, as Python's len()
  const oneLine = (text) => text.replace(CONTROL, " ");

  function asciiDigits(text) {
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      const zero = cp > 0x7f ? ZEROS.find((z) => z <= cp && cp < z + 10) : undefined;
      out += zero === undefined ? ch : String(cp - zero);
    }
    return out;
  }

  function decimalOf(text) {
    // text: [+-]digits[.digits][e[+-]digits], the exponent already bounded
    const m = DECIMAL.exec(text);
    const fraction = m[3] || "";
    let n = BigInt((m[2] || "0") + fraction);
    if (m[1] === "-") n = -n;
    const e = m[4] ? parseInt(m[4], 10) : 0;
    const d = pow10(fraction.length);
    return e >= 0 ? Q(n * pow10(e), d) : Q(n, d * pow10(-e));
  }

  function shortDecimal(v) {
    // reading.short_decimal: a float's artefact (1.2000000000000002) read as its short decimal
    const unit = pow10(SHORT_PLACES);
    const scaled = v.n * unit;
    if (scaled % v.d === 0n) return null;
    const short = Q(roundHalfEven(scaled, v.d), unit);
    const diff = Q(abs(v.n * short.d - short.n * v.d), v.d * short.d);
    const relative = Q(abs(short.n), short.d * 10n ** 9n);
    const nearZero = Q(1n, 10n ** 12n);
    const bound = cmp(relative, nearZero) > 0 ? relative : nearZero;
    return cmp(diff, bound) <= 0 ? short : null;
  }

  const tooLarge = (v) => abs(v.n) > MAX_MAGNITUDE * v.d;

  function readNumber(raw) {
    // {value} or {error}, as read_number reads one cell
    const stripped = pyStrip(raw);
    const shown = Array.from(oneLine(stripped)).slice(0, MAX_TEXT).join("");
    if (length(stripped) > MAX_TEXT) return { error: '"' + shown + '..." is not a number (' + ACCEPTED + ")" };
    let text = stripped.replace(MINUSES, "-").replace(SLASH, "/");
    if (SPACE.test(text)) {
      return { error: '"' + shown + '" is not a number: a space inside a number (' + ACCEPTED + ")" };
    }
    if (text.split(",").length === 2 && !text.includes(".") && !text.includes("/")) text = text.replace(",", ".");
    text = asciiDigits(text);
    const m = NUMBER.exec(text);
    if (!m) return { error: '"' + shown + '" is not a number (' + ACCEPTED + ")" };
    if (m[4] !== undefined && Math.abs(parseInt(m[4], 10)) > MAX_EXPONENT) {
      const what = parseInt(m[4], 10) > 0 ? "is far too large for" : "has more decimals than";
      return { error: '"' + shown + '" ' + what + " a hand exercise (an exponent beyond \u00b1" + MAX_EXPONENT + ")" };
    }
    const slash = text.indexOf("/");
    if (slash >= 0) {
      const num = decimalOf(text.slice(0, slash));
      const den = decimalOf(text.slice(slash + 1));
      if (den.n === 0n) return { error: '"' + shown + '" is not a number (' + ACCEPTED + ")" };
      const value = Q(num.n * den.d, num.d * den.n);
      if (tooLarge(value) || value.d > MAX_MAGNITUDE) {
        return { error: '"' + shown + '" is far too large for a hand exercise' };
      }
      return { value };
    }
    let value = decimalOf(text);
    value = shortDecimal(value) || value;
    if (tooLarge(value)) return { error: shown + " is far too large for a hand exercise" };
    if (value.d > MAX_MAGNITUDE) return { error: shown + " has more decimals than a hand exercise needs" };
    return { value };
  }

  // ---------------------------------------------------------------------- names (answers.word_key)

  const MAX_WORD = 64;
  const MODULE_PREFIX = /^(torch\.nn\.functional\.|torch\.nn\.|torch\.|nn\.functional\.|nn\.|F\.)/;
  const CALL = /\([^()]*\)(?=\n?$)/; // Python's $ matches before a last newline too

  function wordKey(text) {
    let core = pyStrip(text).replace(MODULE_PREFIX, "");
    core = core.replace(/[,; ]+$/, "");
    core = pyStrip(core.replace(CALL, ""));
    return core.replace(SPACES, "").toLowerCase();
  }

  // ---------------------------------------------------------------------- the checks

  const data = JSON.parse(document.getElementById("nnhand-check").textContent);
  const salts = {};
  const oks = {};
  for (const name of Object.keys(data.cells)) {
    salts[name] = sha256hex("nnhand-selfcheck|" + data.variant + "|" + name).slice(0, 16);
    oks[name] = new Set(data.cells[name].ok);
  }
  const digest = (salt, kind, text) => sha256hex(salt + "|" + kind + "|" + text).slice(0, 12);
  const has = (table, key) => Object.prototype.hasOwnProperty.call(table, key);

  function unseal(salt, purpose, sealed) {
    const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
    for (let block = 0; block * 32 < bytes.length; block++) {
      const stream = sha256(encoder.encode(salt + "|" + purpose + "|" + block));
      for (let i = 0; i < 32 && block * 32 + i < bytes.length; i++) bytes[block * 32 + i] ^= stream[i];
    }
    return new TextDecoder().decode(bytes);
  }

  function accepts(name, v) {
    // selfcheck.accepts: the hash listed; between two listed grid points; or in a sealed end
    const cell = data.cells[name];
    const salt = salts[name];
    const ok = oks[name];
    if (ok.has(digest(salt, "ok", canon(v)))) return true;
    if (cell.grid === null) return false;
    const g = cell.grid >= 0 ? Q(pow10(cell.grid)) : Q(1n, pow10(-cell.grid));
    const k = floorDiv(v.n * g.d, v.d * g.n);
    const below = Q(k * g.n, g.d);
    if (cmp(below, v) === 0) return false; // a grid point: its hash decided
    const above = Q((k + 1n) * g.n, g.d);
    if (ok.has(digest(salt, "ok", canon(below))) && ok.has(digest(salt, "ok", canon(above)))) return true;
    const key = digest(salt, "edge", canon(below));
    if (!has(cell.edges, key)) return false;
    const [low, high] = unseal(salt, "edge|" + canon(below), cell.edges[key]).split(" ").map(fromCanon);
    return cmp(low, v) <= 0 && cmp(v, high) <= 0;
  }

  function slipOf(name, text) {
    const cell = data.cells[name];
    const key = digest(salts[name], "slip", text);
    return has(cell.slips, key) ? unseal(salts[name], "slip|" + text, cell.slips[key]) : null;
  }

  function check(name, raw) {
    // {status: empty | right | wrong | unreadable, message}
    const cell = data.cells[name];
    if (pyStrip(raw) === "") return { status: "empty", message: "" };
    if (cell.words) {
      const names = data.vocabulary.join(", ");
      if (length(pyStrip(raw)) > MAX_WORD) {
        return { status: "unreadable", message: "That is not a name: write one of " + names + "." };
      }
      const key = wordKey(raw);
      if (oks[name].has(digest(salts[name], "ok", key))) return { status: "right", message: "" };
      if (!data.vocabulary.some((w) => wordKey(w) === key)) {
        const written = "'" + oneLine(pyStrip(raw)) + "'";
        return { status: "unreadable", message: written + " is not one of the names " + names + "." };
      }
      return { status: "wrong", message: slipOf(name, key) || "" };
    }
    const read = readNumber(raw);
    if (read.error) return { status: "unreadable", message: read.error + "." };
    if (accepts(name, read.value)) return { status: "right", message: "" };
    const rounded = cell.decimals === null ? read.value : roundHalfAway(read.value, cell.decimals);
    return { status: "wrong", message: slipOf(name, canon(rounded)) || "" };
  }

  // ---------------------------------------------------------------------- the page

  const MARKS = { empty: "", right: "\u2713", wrong: "\u2717", unreadable: "?" };
  const bar = document.getElementById("nn-bar");
  const where = bar.querySelector(".nn-where");
  const says = bar.querySelector(".nn-says");
  const hintButton = bar.querySelector(".nn-hint");
  const revealButton = bar.querySelector(".nn-reveal");
  const tally = bar.querySelector(".nn-tally");
  const inputs = Array.from(document.querySelectorAll("input.nn-answer"));
  const state = {};
  let current = null;

  function paragraph(text, kind) {
    const p = document.createElement("p");
    p.textContent = text;
    if (kind) p.className = kind;
    return p;
  }

  function show() {
    if (current === null) {
      where.textContent = "";
      says.replaceChildren(
        paragraph(
          "Click a blank and type: it is checked as you type (\u2713 right, \u2717 not yet). " +
            "Enter goes to the next blank.",
        ),
      );
      return;
    }
    const name = current.dataset.cell;
    const cell = data.cells[name];
    const st = state[name];
    const lines = [];
    if (st.status === "right") lines.push(paragraph("\u2713 Right.", "nn-said-right"));
    else if (st.status === "wrong") {
      const said = st.message || "not right yet: try again, or take a hint.";
      lines.push(paragraph("\u2717 \u2014 " + said, "nn-said-wrong"));
    } else if (st.status === "unreadable") lines.push(paragraph("? " + st.message, "nn-said-unreadable"));
    else lines.push(paragraph("Type your answer for " + name + "."));
    for (let n = 0; n < st.hints; n++) {
      lines.push(paragraph(unseal(salts[name], "hint" + (n + 1), cell.hints[n]), "nn-said-hint"));
    }
    if (st.revealed) lines.push(paragraph("Key: " + unseal(salts[name], "key", cell.key), "nn-said-key"));
    where.textContent = name;
    says.replaceChildren(...lines);
    hintButton.disabled = st.hints >= cell.hints.length;
    revealButton.disabled = st.revealed;
  }

  function keepVisible(input) {
    // the bar is fixed at the foot of the window: a blank must not hide behind it
    const hidden = input.getBoundingClientRect().bottom - bar.getBoundingClientRect().top + 12;
    if (hidden > 0) window.scrollBy(0, hidden);
  }

  function count() {
    const right = inputs.filter((input) => state[input.dataset.cell].status === "right").length;
    const all = inputs.length;
    tally.textContent = right === all ? "All " + right + " right!" : right + " of " + all + " right";
  }

  function update(input) {
    const name = input.dataset.cell;
    const result = check(name, input.value);
    state[name].status = result.status;
    state[name].message = result.message;
    const box = input.parentElement;
    for (const status of ["right", "wrong", "unreadable"]) {
      box.classList.toggle("nn-" + status, result.status === status);
    }
    box.querySelector(".mark").textContent = MARKS[result.status];
    input.setAttribute("aria-invalid", result.status === "wrong" || result.status === "unreadable" ? "true" : "false");
    input.title = result.message;
    if (input === current) show();
    count();
  }

  inputs.forEach((input, k) => {
    state[input.dataset.cell] = { status: "empty", message: "", hints: 0, revealed: false };
    input.addEventListener("input", () => update(input));
    input.addEventListener("change", () => update(input)); // a value set other than by typing
    input.addEventListener("focus", () => {
      current = input;
      show();
      keepVisible(input);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        inputs[(k + 1) % inputs.length].focus();
      }
    });
  });

  function act(what) {
    if (current === null) return;
    what(state[current.dataset.cell]);
    current.parentElement.classList.toggle("nn-revealed", state[current.dataset.cell].revealed);
    show();
    current.focus();
    keepVisible(current);
  }

  hintButton.addEventListener("click", () => act((st) => (st.hints += 1)));
  revealButton.addEventListener("click", () => act((st) => (st.revealed = true)));
  for (const input of inputs) if (input.value) update(input); // a reloaded page keeps what was typed
  show();
  count();

  // For tests and the curious: the page's own SHA-256 and reader.
  window.nnhandCheck = {
    sha256hex,
    readNumber: (text) => {
      const read = readNumber(text);
      return read.error ? { error: read.error } : { value: canon(read.value) };
    },
    wordKey,
    check,
  };
})();
