/* The "use coupon" page: scan the coupon on the member's phone and send its code. The page works
   without this file (the cashier types the code); it only adds the camera.
   Decoding reuses staff.js (window.StaffApp.decode: BarcodeDetector, else the vendored jsQR,
   loaded only when the camera starts); where the phone's BarcodeDetector also reads barcodes
   (Code 128), those are read too. */
(function () {
  "use strict";

  // Coupon codes use an alphabet without look-alikes (rewards.models.CODE_ALPHABET), 8 long;
  // a member's spot code is 6 digits.
  var ALPHABET = /^[ACDEFGHJKMNPQRTUVWXY34679]{8}$/;
  var SPOT = /^\d{6}$/;

  function clean(text) {
    return String(text || "")
      .replace(/[๐-๙]/g, function (d) { return String(d.charCodeAt(0) - 0x0E50); })
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, "");
  }

  // The code in what a scanner read: the bare code, or a link whose last path part or ?code= is it.
  function codeFromText(text) {
    var raw = String(text || "").trim();
    var candidates = [raw];
    try {
      var url = new URL(raw);
      candidates.unshift(url.searchParams.get("code") || "", url.pathname.split("/").filter(Boolean).pop() || "");
    } catch (e) { /* not a link */ }
    for (var i = 0; i < candidates.length; i++) {
      var code = clean(candidates[i]);
      if (ALPHABET.test(code) || SPOT.test(code)) return code;
    }
    return null;
  }

  window.StaffRewards = { codeFromText: codeFromText };

  var button = document.querySelector("[data-coupon-scan]");
  if (!button || !window.StaffApp || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url; s.async = true; s.onload = resolve; s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  // One decode function for a <video> frame: the phone's own detector (QR codes and barcodes) when
  // it has one, else staff.js's decoder with jsQR (loaded from this page's static URL).
  function decoder() {
    var native = ("BarcodeDetector" in window)
      ? window.BarcodeDetector.getSupportedFormats().catch(function () { return []; })
      : Promise.resolve([]);
    return native.then(function (formats) {
      var wanted = ["qr_code", "code_128", "code_39"].filter(function (f) { return formats.indexOf(f) >= 0; });
      if (wanted.indexOf("qr_code") >= 0) {
        var detector = new window.BarcodeDetector({ formats: wanted });
        return function (video) {
          return detector.detect(video).then(function (found) { return found.length ? found[0].rawValue : null; });
        };
      }
      return (window.jsQR ? Promise.resolve() : loadScript(button.dataset.jsqr)).then(function () {
        return window.StaffApp.decode;
      });
    });
  }

  var form = button.closest("form");
  var box = form.querySelector("[data-scanner]");
  var video = box.querySelector("[data-video]");
  var status = box.querySelector("[data-scan-status]");
  var hint = status.textContent;
  var stream = null, running = false;
  button.hidden = false;

  function stop() {
    running = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; box.hidden = true; button.hidden = false;
  }
  box.querySelector("[data-scan-stop]").addEventListener("click", stop);

  button.addEventListener("click", function () {
    button.hidden = true; box.hidden = false; video.hidden = false; running = true;
    status.textContent = hint;
    Promise.all([
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
      decoder()
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
              return;
            }
            if (text) status.textContent = status.dataset.notCoupon || hint;
            setTimeout(tick, 200);
          }).catch(function () { setTimeout(tick, 400); });
        };
        tick();
      });
    }).catch(function (err) {
      stop();
      status.textContent = err && err.name === "NotAllowedError" ? status.dataset.denied : status.dataset.failed;
      box.hidden = false;
      video.hidden = true;
    });
  });

})();
