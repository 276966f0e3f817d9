// Small conveniences only: every page works without this file.
// 1. The two indicators: the overlay when /status.json stops answering (tablet cannot
//    reach the device) and the hub badge computed by the server.
// 2. The live preview of the standardised names and the dose assistant's options.
// 3. Camera scanning on the verify page: the browser's BarcodeDetector, else the vendored jsQR.
// 4. The Issue button disables itself after the first tap (the server is idempotent anyway).
// 5. Forms that fit the case: the RAT device only for rapid tests; recovery dates from the first
//    positive test; the review page's own URL in place of its POST (no "Confirm Form Resubmission").
"use strict";

(function () {
  const body = document.body;
  const pollUrl = body.dataset.poll;
  let failures = 0;

  function poll() {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 4000);
    fetch(pollUrl, { cache: "no-store", credentials: "same-origin", signal: ctrl.signal })
      .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then((data) => {
        failures = 0;
        document.getElementById("unreachable").hidden = true;
        const badge = document.getElementById("hub-badge");
        if (badge) { badge.hidden = !data.hub_offline; if (data.hub_text) badge.textContent = data.hub_text; }
      })
      .catch(() => { failures += 1; if (failures >= 2) document.getElementById("unreachable").hidden = false; })
      .finally(() => clearTimeout(timer));
  }
  if (pollUrl) { setInterval(poll, 10000); }

  // live name preview
  const preview = document.querySelector("[data-names]");
  if (preview) {
    const fam = document.getElementById("family_name");
    const giv = document.getElementById("given_name");
    let pending = null;
    const update = () => {
      const q = new URLSearchParams({ family_name: fam.value, given_name: giv ? giv.value : "" });
      fetch(preview.dataset.names + "?" + q, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((d) => {
          document.getElementById("preview-family").textContent = d.family_name === null ? "?" : d.family_name;
          document.getElementById("preview-given").textContent = d.given_name === null ? "?" : d.given_name;
        }).catch(() => {});
    };
    const soon = () => { clearTimeout(pending); pending = setTimeout(update, 250); };
    fam.addEventListener("input", soon);
    if (giv) giv.addEventListener("input", soon);
    update();
  }

  // dose assistant: the usual numberings for the chosen product
  const dose = document.querySelector("[data-doses]");
  const product = document.getElementById("product");
  if (dose && product) {
    product.addEventListener("change", () => {
      fetch(dose.dataset.doses + "?product=" + encodeURIComponent(product.value), { credentials: "same-origin" })
        .then((r) => r.json())
        .then((d) => {
          const keep = dose.value;
          dose.replaceChildren(...d.options.map((o) => { const e = new Option(o.label, o.value); e.selected = o.value === keep; return e; }));
        }).catch(() => {});
    });
  }

  // the RAT device field only for rapid tests (disabled, so not sent, for PCR; the server ignores it too)
  document.querySelectorAll("[data-show-for]").forEach((wrap) => {
    const type = document.getElementById("test_type");
    if (!type) return;
    const input = wrap.querySelector("select, input");
    const sync = () => {
      const on = type.value === wrap.dataset.showFor;
      wrap.hidden = !on;
      if (input) input.disabled = !on;
    };
    type.addEventListener("change", sync);
    sync();
  });

  // recovery: valid from / until follow the first positive test until staff edit them
  const windowBox = document.querySelector("[data-from-days]");
  const first = document.getElementById("first_positive");
  if (windowBox && first) {
    const parseDay = (text) => {                        // DD.MM.YYYY, DDMMYYYY or YYYY-MM-DD -> Date (UTC)
      let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim()), y, mo, d;
      if (m) { [y, mo, d] = [m[1], m[2], m[3]]; } else {
        m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(text.trim()) || /^(\d{2})(\d{2})(\d{4})$/.exec(text.trim());
        if (!m) return null;
        [d, mo, y] = [m[1], m[2], m[3]];
      }
      const t = new Date(Date.UTC(+y, +mo - 1, +d));
      return t.getUTCFullYear() === +y && t.getUTCMonth() === +mo - 1 && t.getUTCDate() === +d ? t : null;
    };
    const fmt = (t) => [t.getUTCDate(), t.getUTCMonth() + 1].map((n) => String(n).padStart(2, "0")).join(".")
      + "." + t.getUTCFullYear();
    const fields = [["valid_from", +windowBox.dataset.fromDays], ["valid_until", +windowBox.dataset.untilDays]];
    const made = {};                                     // what this script filled in last
    const fill = () => {
      const day = parseDay(first.value);
      if (!day) return;
      fields.forEach(([id, days]) => {
        const el = document.getElementById(id);
        if (!el || (el.value && el.value !== made[id])) return;   // typed by staff: keep it
        el.value = made[id] = fmt(new Date(day.getTime() + days * 86400000));
      });
    };
    first.addEventListener("input", fill);
    first.addEventListener("change", fill);
  }

  // the review page: when it is left through its form, its history entry becomes its own GET URL,
  // so Back after issuing leads to the certificate instead of "Confirm Form Resubmission" and a
  // second review (until then the address stays the one the review was posted to)
  const review = document.querySelector("[data-review-url]");
  const reviewForm = document.querySelector("form[action$='/confirm']");
  if (review && reviewForm && window.history && history.replaceState) {
    reviewForm.addEventListener("submit", () => history.replaceState(null, "", review.dataset.reviewUrl));
  }

  // Issue once: a double tap sends one request
  document.querySelectorAll("button[data-once]").forEach((b) => {
    b.form.addEventListener("submit", (ev) => {
      if (ev.submitter === b) { setTimeout(() => { b.disabled = true; }, 0); }
    });
  });

  // camera scan (verify page): the browser's BarcodeDetector where it has one, else jsQR
  // (static/vendor/jsQR.js, loaded by the verify page only) on frames drawn into a canvas.
  const MAX_SIDE = 960;                                   // decode frames at most this large
  function decodeImageData(img) {
    if (typeof window.jsQR !== "function" || !img) return null;
    const code = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
    return code && code.data ? code.data : null;
  }
  window.applianceScan = { decodeImageData: decodeImageData };

  async function barcodeDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = window.BarcodeDetector.getSupportedFormats ? await window.BarcodeDetector.getSupportedFormats() : ["qr_code"];
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch (e) { return null; }
  }

  function frameReader(video) {                          // video frame -> text or null, via jsQR
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return () => {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return null;
      const k = Math.min(1, MAX_SIDE / Math.max(w, h));
      canvas.width = Math.round(w * k); canvas.height = Math.round(h * k);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      return decodeImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
    };
  }

  function cameraProblem(key) {                           // the page's translated text for a camera failure
    const box = document.getElementById("camera-problem");
    if (!box) return;
    box.textContent = box.dataset[key] || box.dataset.failed || "";
    box.hidden = false;
  }

  function setUpScan() {
    const scan = document.getElementById("scan");
    const video = document.getElementById("camera");
    const field = document.getElementById("hc1");
    if (!scan || !video || !field) return;
    const hasDetector = "BarcodeDetector" in window;
    if (!hasDetector && typeof window.jsQR !== "function") return;
    scan.hidden = false;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {   // e.g. plain HTTP: no camera API
      scan.addEventListener("click", () => cameraProblem("unavailable"));
      return;
    }
    scan.addEventListener("click", async () => {
      if (scan.disabled) return;
      scan.disabled = true;
      const box = document.getElementById("camera-problem");
      if (box) box.hidden = true;
      let stream = null;
      const stop = () => { if (stream) stream.getTracks().forEach((t) => t.stop()); stream = null; video.hidden = true; };
      try {
        const detector = await barcodeDetector();
        if (!detector && typeof window.jsQR !== "function") throw new Error("no QR decoder");
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream; video.hidden = false; await video.play();
        const read = detector
          ? async () => { const codes = await detector.detect(video).catch(() => []); return codes.length ? codes[0].rawValue : null; }
          : frameReader(video);
        const found = (text) => {                        // the one path after a detection
          stop();
          field.value = text;
          scan.form.submit();
        };
        const tick = async () => {
          if (!stream) return;
          const text = await read();
          if (typeof text === "string" && text.startsWith("HC1:")) { found(text); return; }
          if (detector) requestAnimationFrame(tick); else setTimeout(tick, 150);
        };
        tick();
      } catch (e) {
        stop(); scan.disabled = false;
        const name = e && e.name;
        cameraProblem(name === "NotAllowedError" || name === "SecurityError" ? "denied"
          : name === "NotFoundError" || name === "OverconstrainedError" ? "missing" : "failed");
      }
    });
  }
  // after every deferred script has run: the verify page's jsQR.js comes after this file
  if (document.readyState === "complete") setUpScan();
  else window.addEventListener("load", setUpScan, { once: true });
})();
