/* The rich-menu editor's live preview (back office, campaigns → rich menus).
 *
 * Draws the picture with its areas numbered and labelled, from the form as it is now: the
 * picture just picked in the file input (read as a data: URL: the Content-Security-Policy allows
 * data: images, not blob:), else the saved one; the layout select; each area row's number,
 * action and, for the custom layout, x / y / width / height. It redraws on every change. An
 * area outside the picture or overlapping another is drawn in red (the server refuses it on
 * save with the reason). Without this script the server's drawing of the saved menu shows; with
 * it, that drawing is removed and this one (same data-rich-menu-preview mark) takes its place.
 */
(function () {
  "use strict";

  // The admin puts its media in <head>: wait for the form.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function start() {
    var SVG = "http://www.w3.org/2000/svg";
    var box = document.querySelector("[data-rich-menu-live]");
    if (!box) return;
    var form = box.closest("form");
    if (!form) return;
    var grids = JSON.parse(box.dataset.grids || "{}");
    var labels = JSON.parse(box.dataset.labels || "{}");
    var custom = String(box.dataset.custom);
    var picture = null;

    function field(prefix, name) {
      return form.querySelector("[name='" + prefix + name + "']");
    }

    function number(prefix, name) {
      var el = field(prefix, name);
      var value = el ? el.value.trim() : "";
      if (value === "" || isNaN(Number(value))) return null;
      return Math.floor(Number(value));
    }

    function rows() {
      var found = [];
      form.querySelectorAll("select[name^='areas-'][name$='-action']").forEach(function (select) {
        var prefix = select.name.slice(0, -"action".length);
        if (prefix.indexOf("__prefix__") !== -1) return;
        var remove = field(prefix, "DELETE");
        if (remove && remove.checked) return;
        var index = number(prefix, "index");
        if (index === null) return;
        found.push({
          index: index,
          action: select.value,
          x: number(prefix, "x"),
          y: number(prefix, "y"),
          width: number(prefix, "width"),
          height: number(prefix, "height"),
        });
      });
      found.sort(function (a, b) { return a.index - b.index; });
      return found;
    }

    function gridRects(layout, width, height) {
      var grid = grids[layout];
      if (!grid) return [];
      var columns = grid[0], lines = grid[1], rects = [];
      for (var row = 0; row < lines; row++) {
        var y = Math.floor(height * row / lines), yEnd = Math.floor(height * (row + 1) / lines);
        for (var column = 0; column < columns; column++) {
          var x = Math.floor(width * column / columns);
          var xEnd = Math.floor(width * (column + 1) / columns);
          rects.push({ x: x, y: y, width: xEnd - x, height: yEnd - y });
        }
      }
      return rects;
    }

    function overlap(a, b) {
      return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    }

    function areas(width, height) {
      var layout = (form.querySelector("[name='layout']") || {}).value;
      var list = rows();
      if (String(layout) !== custom) {
        var byIndex = {};
        list.forEach(function (row) { byIndex[row.index] = row; });
        return gridRects(String(layout), width, height).map(function (rect, i) {
          var row = byIndex[i + 1];
          return { number: i + 1, rect: rect, action: row ? row.action : "", bad: false };
        });
      }
      var drawn = list
        .filter(function (row) {
          return row.x !== null && row.y !== null && row.width > 0 && row.height > 0;
        })
        .map(function (row) {
          var rect = { x: row.x, y: row.y, width: row.width, height: row.height };
          var outside = rect.x < 0 || rect.y < 0 || rect.x + rect.width > width ||
            rect.y + rect.height > height;
          return { number: row.index, rect: rect, action: row.action, bad: outside };
        });
      drawn.forEach(function (a, i) {
        drawn.slice(i + 1).forEach(function (b) {
          if (overlap(a.rect, b.rect)) { a.bad = true; b.bad = true; }
        });
      });
      return drawn;
    }

    function node(name, attributes, text) {
      var el = document.createElementNS(SVG, name);
      Object.keys(attributes).forEach(function (key) { el.setAttribute(key, attributes[key]); });
      if (text !== undefined) el.textContent = text;
      return el;
    }

    function draw() {
      box.replaceChildren();
      box.hidden = false;
      if (!picture) {
        var empty = document.createElement("p");
        empty.className = "rm-empty";
        empty.textContent = box.dataset.empty || "";
        box.appendChild(empty);
        return;
      }
      var width = picture.width, height = picture.height;
      var svg = node("svg", {
        viewBox: "0 0 " + width + " " + height,
        role: "img",
        "data-rich-menu-live-svg": "",
      "data-rich-menu-preview": "",
        "data-areas": "0",
      });
      svg.appendChild(node("image", { href: picture.url, width: width, height: height }));
      var list = areas(width, height);
      list.forEach(function (area) {
        var group = node("g", { class: area.bad ? "rm-area rm-bad" : "rm-area" });
        var r = area.rect;
        group.appendChild(node("rect", {
          x: r.x, y: r.y, width: r.width, height: r.height,
          "stroke-width": Math.max(Math.floor(width / 250), 2),
        }));
        group.appendChild(node("text", {
          x: r.x + Math.floor(r.width / 2),
          y: r.y + Math.floor(r.height / 2),
          "font-size": Math.max(Math.floor(height / 14), 16),
          "stroke-width": Math.max(Math.floor(height / 120), 3),
          "text-anchor": "middle",
          "dominant-baseline": "middle",
        }, area.number + ". " + (labels[area.action] || "—")));
        svg.appendChild(group);
      });
      svg.setAttribute("data-areas", String(list.length));
      box.appendChild(svg);
    }

    function load(url) {
      var image = new Image();
      image.onload = function () {
        picture = { url: url, width: image.naturalWidth, height: image.naturalHeight };
        draw();
      };
      image.src = url;
    }

    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.type === "file" && target.name === "image") {
        var file = target.files && target.files[0];
        if (!file) return;
        var reader = new FileReader();
        reader.onload = function () { load(String(reader.result)); };
        reader.readAsDataURL(file);
        return;
      }
      draw();
    });
    form.addEventListener("input", function (event) {
      if (event.target.type !== "file") draw();
    });
    // Rows added with "Add another" are new fields: the delegated listeners above already cover them.

    // From here on this script draws: the server's drawing (for pages without scripts) goes.
    box.parentElement.querySelectorAll(".rm-fallback").forEach(function (el) { el.remove(); });
    if (box.dataset.imageUrl) load(box.dataset.imageUrl);
    else draw();
  }
})();
