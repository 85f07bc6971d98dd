/* The staff app's small helpers. Every page works without this file; it only adds:
   - one submit per form (a double tap sends one request; the server's key is the real guard),
   - the live points preview while the cashier types the spend,
   - scanning the member's QR code with the camera (BarcodeDetector, else the vendored jsQR,
     loaded only when needed),
   - the countdown and live state of a points QR code. */
(function () {
  "use strict";

  // --- one submit per form --------------------------------------------------------------------
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.setAttribute("aria-busy", "true");
      });
    });
  });
  // Back/forward cache: a page shown again may be submitted again (same key: a replay).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); });
    });
  });

  // --- live points preview --------------------------------------------------------------------
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var input = form.querySelector("[name=amount]");
    var out = form.querySelector("[data-preview-out]");
    var member = form.querySelector("[name=member]");
    if (!input || !out) return;
    var timer = null, seq = 0;
    function show(text, isError) { out.textContent = text; out.classList.toggle("is-error", !!isError); }
    function update() {
      var amount = input.value.trim();
      if (!amount) { show("", false); return; }
      var url = form.dataset.preview + "?amount=" + encodeURIComponent(amount) +
        (member && member.value ? "&member=" + encodeURIComponent(member.value) : "");
      var mine = ++seq;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== seq) return;
          if (data.ok) show("= " + Number(data.points).toLocaleString() + " " + out.dataset.unit, false);
          else show(data.error, true);
        })
        .catch(function () { /* offline: the review step shows the points */ });
    }
    out.dataset.unit = document.documentElement.lang === "th" ? "พอยท์" : "points";
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 250); });
    if (input.value) update();
  });

  // --- scanning the member's QR code ----------------------------------------------------------
  var CODE = /(\d{4})[\s-]?(\d{4})(?!\d)/;
  function codeFromText(text) {
    // The card's QR carries the 8-digit code, maybe inside a link; take the last 8 digits group.
    var digits = String(text || "").replace(/[๐-๙]/g, function (d) { return String(d.charCodeAt(0) - 0x0E50); });
    var all = digits.match(/\d{4}[\s-]?\d{4}(?!\d)/g);
    if (!all) return null;
    var m = all[all.length - 1].match(CODE);
    return m[1] + m[2];
  }

  var jsqrPromise = null;
  function loadJsQR(url) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrPromise) {
      jsqrPromise = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = url; s.async = true;
        s.onload = function () { resolve(window.jsQR); };
        s.onerror = function () { jsqrPromise = null; reject(new Error("jsQR failed to load")); };
        document.head.appendChild(s);
      });
    }
    return jsqrPromise;
  }

  function nativeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats()
      .then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      })
      .catch(function () { return null; });
  }

  // Decode a QR code from a <canvas> or <video>: the text, or null. Used by the scanner and by the
  // browser tests (window.StaffApp.decode), so both take the same path.
  function decoder(jsqrUrl) {
    return nativeDetector().then(function (detector) {
      if (detector) {
        return function (source) {
          return detector.detect(source).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        };
      }
      return loadJsQR(jsqrUrl).then(function (jsQR) {
        var canvas = document.createElement("canvas");
        var ctx = canvas.getContext("2d", { willReadFrequently: true });
        return function (source) {
          var w = source.videoWidth || source.width, h = source.videoHeight || source.height;
          if (!w || !h) return Promise.resolve(null);
          canvas.width = w; canvas.height = h;
          ctx.drawImage(source, 0, 0, w, h);
          var img = ctx.getImageData(0, 0, w, h);
          var found = jsQR(img.data, w, h, { inversionAttempts: "dontInvert" });
          return Promise.resolve(found ? found.data : null);
        };
      });
    });
  }

  var scanButton = document.querySelector("[data-scan]");
  window.StaffApp = {
    codeFromText: codeFromText,
    usesNativeDetector: function () { return nativeDetector().then(function (d) { return !!d; }); },
    decode: function (source) {
      var url = scanButton ? scanButton.dataset.jsqr : "/static/vendor/jsqr/jsQR.js";
      return decoder(url).then(function (decode) { return decode(source); });
    }
  };

  if (scanButton && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    var form = document.getElementById("code-form");
    var box = form.querySelector("[data-scanner]");
    var video = box.querySelector("[data-video]");
    var status = box.querySelector("[data-scan-status]");
    var stream = null, running = false;
    scanButton.hidden = false;

    var stop = function () {
      running = false;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null; box.hidden = true; scanButton.hidden = false;
    };
    box.querySelector("[data-scan-stop]").addEventListener("click", stop);

    scanButton.addEventListener("click", function () {
      scanButton.hidden = true; box.hidden = false; running = true;
      Promise.all([
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
        decoder(scanButton.dataset.jsqr)
      ]).then(function (both) {
        stream = both[0];
        var decode = both[1];
        video.srcObject = stream;
        return video.play().then(function () {
          var tick = function () {
            if (!running) return;
            decode(video).then(function (text) {
              var code = text && codeFromText(text);
              if (code) {
                stop();
                form.querySelector("[name=code]").value = code;
                form.requestSubmit ? form.requestSubmit() : form.submit();
              } else {
                setTimeout(tick, 200);
              }
            }).catch(function () { setTimeout(tick, 400); });
          };
          tick();
        });
      }).catch(function (err) {
        stop();
        status.textContent = err && err.name === "NotAllowedError"
          ? status.dataset.denied || "Camera blocked: type the code instead."
          : status.dataset.failed || "The camera is not available: type the code instead.";
        box.hidden = false;
        box.querySelector("video").hidden = true;
      });
    });
  }

  // --- a points QR code: countdown and live state ---------------------------------------------
  var claim = document.querySelector("[data-claim-status]");
  if (claim && claim.dataset.state === "open") {
    var left = parseInt(claim.dataset.seconds, 10) || 0;
    var countdown = claim.querySelector("[data-countdown]");
    var deadline = Date.now() + left * 1000;
    var render = function () {
      var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (countdown) countdown.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    };
    var poll = function () {
      fetch(claim.dataset.claimStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.state === "open") { setTimeout(poll, 2000); return; }
          // Collected, expired or cancelled: the server renders the final state in the page's language.
          window.location.reload();
        })
        .catch(function () { setTimeout(poll, 4000); });
    };
    render();
    setInterval(render, 1000);
    setTimeout(poll, 2000);
  }
})();
