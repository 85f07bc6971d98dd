/* The member card's QR code: a new one-time code every minute while the card is on screen.
   The first code comes with the page (no script needed to show it); this only refreshes it.
   Paused while the page is hidden, so a card left open in a background tab issues no codes. */
(function () {
  "use strict";
  var panel = document.querySelector("[data-refresh-url]");
  if (!panel || !window.fetch) return;
  var url = panel.getAttribute("data-refresh-url");
  var every = parseInt(panel.getAttribute("data-refresh-period"), 10) || 60;
  // The code on the page may be a few seconds old already (a reload shows the same code).
  var firstIn = parseInt(panel.getAttribute("data-refresh-seconds"), 10) || every;
  var svgBox = panel.querySelector("[data-qr-svg]");
  var codeBox = panel.querySelector("[data-qr-code]");
  var bar = panel.querySelector("[data-qr-bar]");
  var issuedAt = Date.now() - (every - Math.min(firstIn, every)) * 1000;
  var busy = false;
  var timer = null;

  function csrfToken() {
    var input = panel.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function tick() {
    var left = Math.max(0, every - (Date.now() - issuedAt) / 1000);
    if (bar) bar.style.width = (left / every) * 100 + "%";
    if (left <= 0) refresh();
  }

  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) throw new Error("signed out");
        return response.json();
      })
      .then(function (data) {
        svgBox.innerHTML = data.svg;
        codeBox.textContent = data.grouped;
        every = data.refresh_in || every;
        issuedAt = Date.now();
        panel.classList.remove("is-stale");
      })
      .catch(function () {
        // Signed out, offline or the server is busy: grey the code out and try again next tick;
        // a reload shows the sign-in page when the session has ended.
        panel.classList.add("is-stale");
        issuedAt = Date.now() - (every - 10) * 1000;
      })
      .then(function () {
        busy = false;
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && (Date.now() - issuedAt) / 1000 >= every) refresh();
  });
  timer = window.setInterval(tick, 1000);
  tick();
  window.addEventListener("pagehide", function () {
    window.clearInterval(timer);
  });
})();
