// Small conveniences only: every page works without this file.
// 1. The two indicators: the overlay when /status.json stops answering (tablet cannot
//    reach the device) and the hub badge computed by the server.
// 2. The live preview of the standardised names and the dose assistant's options.
// 3. Camera scanning on the verify page with the browser's BarcodeDetector.
// 4. The Issue button disables itself after the first tap (the server is idempotent anyway).
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

  // Issue once: a double tap sends one request
  document.querySelectorAll("button[data-once]").forEach((b) => {
    b.form.addEventListener("submit", (ev) => {
      if (ev.submitter === b) { setTimeout(() => { b.disabled = true; }, 0); }
    });
  });

  // camera scan (verify page)
  const scan = document.getElementById("scan");
  if (scan && "BarcodeDetector" in window && navigator.mediaDevices) {
    scan.hidden = false;
    scan.addEventListener("click", async () => {
      const video = document.getElementById("camera");
      try {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream; video.hidden = false; await video.play();
        const tick = async () => {
          const codes = await detector.detect(video).catch(() => []);
          if (codes.length) {
            document.getElementById("hc1").value = codes[0].rawValue;
            stream.getTracks().forEach((t) => t.stop()); video.hidden = true;
            scan.form.submit();
          } else { requestAnimationFrame(tick); }
        };
        tick();
      } catch (e) { video.hidden = true; }
    });
  }
})();
