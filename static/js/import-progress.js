// Member import preview: while the import job runs, poll its small JSON endpoint, move the bar,
// and reload the page when the job has finished (the page then shows the preview or the result).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector(".imp-progress");
  var fill = bar && bar.firstElementChild;
  var label = box.querySelector("[data-progress-label]");
  var state = box.querySelector("[data-progress-state]");
  var rowsText = box.getAttribute("data-rows-text") || "";
  function show(data) {
    if (state) state.textContent = data.state_label;
    if (data.percent === null || data.percent === undefined) {
      bar.classList.add("is-unknown");
      fill.style.width = "";
    } else {
      bar.classList.remove("is-unknown");
      fill.style.width = data.percent + "%";
      bar.setAttribute("aria-valuenow", String(data.percent));
    }
    if (label) {
      label.textContent = rowsText.replace("%(done)s", data.done.toLocaleString())
        .replace("%(total)s", (data.total || 0).toLocaleString());
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        show(data);
        if (data.running) {
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
