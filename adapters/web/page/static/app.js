// Kinerja Ledger dashboard: progressive enhancement only. Every page works
// without this script; it adds the check of an audit entry's inclusion
// proof in the browser (RFC 6962 hashing, RFC 9162 §2.1.3.2
// verification), so an auditor need not take the server's word for it,
// and the size check of an evidence file before it is uploaded.
(function () {
  "use strict";

  function hexToBytes(hex) {
    if (hex.length % 2 !== 0 || /[^0-9a-f]/.test(hex)) { throw new Error("bad hex"); }
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(hex.substr(i * 2, 2), 16); }
    return out;
  }

  function bytesToHex(b) {
    var s = "";
    for (var i = 0; i < b.length; i++) { s += (b[i] < 16 ? "0" : "") + b[i].toString(16); }
    return s;
  }

  function sha256(prefix, parts) {
    var n = 1;
    parts.forEach(function (p) { n += p.length; });
    var buf = new Uint8Array(n);
    buf[0] = prefix;
    var off = 1;
    parts.forEach(function (p) { buf.set(p, off); off += p.length; });
    return crypto.subtle.digest("SHA-256", buf).then(function (d) { return new Uint8Array(d); });
  }

  function leafHash(data) { return sha256(0, [data]); }
  function nodeHash(l, r) { return sha256(1, [l, r]); }

  // verify walks the audit path from the leaf to the root.
  async function verify(leaf, index, size, path, root) {
    if (index >= size) { return false; }
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) { return false; }
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(path[i], r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await nodeHash(r, path[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && bytesToHex(r) === bytesToHex(root);
  }

  async function check(el) {
    var out = document.getElementById("proof-browser");
    if (!out) { return; }
    if (!window.crypto || !crypto.subtle) {
      out.textContent = el.dataset.naText;
      out.dataset.ok = "na";
      return;
    }
    try {
      var data = hexToBytes(el.dataset.leafdata);
      var leaf = await leafHash(data);
      var leafOK = bytesToHex(leaf) === el.dataset.leaf;
      var path = el.dataset.path ? el.dataset.path.split(" ").map(hexToBytes) : [];
      var ok = leafOK && await verify(leaf, Number(el.dataset.index), Number(el.dataset.size), path, hexToBytes(el.dataset.root));
      out.textContent = (ok ? "✔ " : "✘ ") + (ok ? el.dataset.okText : el.dataset.badText);
      out.dataset.ok = ok ? "true" : "false";
      out.classList.add(ok ? "ok" : "bad");
    } catch (e) {
      out.textContent = "✘ " + el.dataset.badText;
      out.dataset.ok = "false";
      out.classList.add("bad");
    }
  }

  // A file input with data-max-bytes says at once when the chosen file is
  // over the limit (the server refuses it anyway, after the upload): the
  // message is the element named by data-size-error, shown beside it.
  function tooLarge(input) {
    var f = input.files && input.files[0];
    return !!f && f.size > Number(input.dataset.maxBytes);
  }
  function sizeCheck(input) {
    var msg = document.getElementById(input.dataset.sizeError);
    var bad = tooLarge(input);
    if (msg) { msg.hidden = !bad; }
    if (bad) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    return !bad;
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("input[type=file][data-max-bytes]")) { sizeCheck(e.target); }
  });
  document.addEventListener("submit", function (e) {
    var inputs = e.target.querySelectorAll ? e.target.querySelectorAll("input[type=file][data-max-bytes]") : [];
    for (var i = 0; i < inputs.length; i++) {
      if (!sizeCheck(inputs[i])) { e.preventDefault(); inputs[i].focus(); return; }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-proof]").forEach(check);
  });
})();
