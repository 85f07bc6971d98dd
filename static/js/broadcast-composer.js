/* The broadcast composer (back office, campaigns → broadcasts → write a broadcast).
 *
 * Builds up to five messages (text with placeholder buttons, photo, video with its preview
 * picture, a picture with tappable areas, a card, a button to a member page) and keeps the form's
 * "messages" field (JSON, the server's input: services.broadcast_save checks every part) in step
 * with them, with a preview of the chat as LINE shows it. Pictures and videos are uploaded at
 * once to the admin's media URL and named by their key. No inline scripts or handlers (the
 * Content-Security-Policy allows none): the data comes from a JSON script element, and every
 * element is made here. Without this script the field stays a plain JSON text box.
 */
(function () {
  "use strict";

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function fmt(text, n) {
    return String(text).replace("%(n)s", n);
  }

  function start() {
    var root = document.querySelector("[data-bc-composer]");
    var source = document.getElementById("bc-composer-data");
    if (!root || !source) return;
    var data = JSON.parse(source.textContent);
    var W = data.words;
    var field = root.querySelector("textarea[data-bc-messages]");
    var form = root.closest("form");
    var preview = document.querySelector("[data-bc-preview]");
    var parts;
    try {
      parts = JSON.parse(field.value || "[]");
      if (!Array.isArray(parts)) parts = [];
    } catch (e) {
      parts = [];
    }
    root.querySelector(".bc-fallback").hidden = true;
    var list = el("div", { className: "bc-list", "data-testid": "parts-editor" });
    var bar = el("div", { className: "bc-addbar", "data-testid": "add-bar" });
    root.appendChild(list);
    root.appendChild(bar);

    function sync() {
      field.value = JSON.stringify(parts);
      drawPreview();
    }

    function media(kind) {
      return data.media.filter(function (m) { return m.kind === kind; });
    }

    function mediaByKey(key) {
      return data.media.filter(function (m) { return m.key === key; })[0];
    }

    // --- the add bar -------------------------------------------------------------------------
    var defaults = {
      text: function () { return { type: "text", text: "" }; },
      image: function () { return { type: "image", media: "" }; },
      video: function () { return { type: "video", media: "" }; },
      imagemap: function () { return { type: "imagemap", media: "", alt_text: "", areas: [] }; },
      card: function () { return { type: "card", template: "balance" }; },
      link: function () { return { type: "link", page: "card", label: "", tags: [] }; },
    };
    Object.keys(data.types).forEach(function (type) {
      var button = el("button", { type: "button", className: "bc-btn bc-add", "data-add": type }, [
        "+ " + data.types[type],
      ]);
      button.addEventListener("click", function () {
        if (parts.length >= data.max) return;
        parts.push(defaults[type]());
        draw();
      });
      bar.appendChild(button);
    });

    // --- the editors -------------------------------------------------------------------------
    function labelled(text, control) {
      return el("label", { className: "bc-sub" }, [el("span", { text: text }), control]);
    }

    function select(options, value, onChange, attrs) {
      var node = el("select", attrs || {});
      options.forEach(function (o) {
        var option = el("option", { value: o[0], text: o[1] });
        if (String(o[0]) === String(value)) option.selected = true;
        node.appendChild(option);
      });
      node.addEventListener("change", function () { onChange(node.value); });
      return node;
    }

    function input(value, onInput, attrs) {
      var node = el("input", Object.assign({ type: "text" }, attrs || {}));
      node.value = value == null ? "" : value;
      node.addEventListener("input", function () { onInput(node.value); });
      return node;
    }

    function tagPicker(part) {
      var box = el("fieldset", { className: "bc-tags" }, [el("legend", { text: W.tags })]);
      if (!data.tags.length) return null;
      data.tags.forEach(function (tag) {
        var box1 = el("input", { type: "checkbox", value: String(tag.id) });
        box1.checked = (part.tags || []).indexOf(tag.id) !== -1;
        box1.addEventListener("change", function () {
          var tags = (part.tags || []).filter(function (t) { return t !== tag.id; });
          if (box1.checked) tags.push(tag.id);
          part.tags = tags;
          sync();
        });
        box.appendChild(el("label", { className: "bc-check" }, [box1, " " + tag.name]));
      });
      return box;
    }

    function uploader(part, kind, after) {
      var wrap = el("div", { className: "bc-upload" });
      var file = el("input", { type: "file", accept: kind === "video" ? "video/mp4" : "image/jpeg,image/png,image/webp", "data-testid": "upload-" + kind });
      var cover = kind === "video" ? el("input", { type: "file", accept: "image/jpeg,image/png" }) : null;
      var status = el("span", { className: "bc-help", role: "status" });
      var go = el("button", { type: "button", className: "bc-btn" }, [W.upload]);
      go.addEventListener("click", function () {
        if (!file.files.length) return;
        var body = new FormData();
        body.append("kind", kind);
        body.append("file", file.files[0]);
        if (cover && cover.files.length) body.append("preview", cover.files[0]);
        status.textContent = W.uploading;
        fetch(root.dataset.mediaUrl, {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
        })
          .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
          .then(function (result) {
            if (!result[0]) { status.textContent = result[1].error || W.failed; return; }
            data.media.unshift(result[1]);
            part.media = result[1].key;
            draw();
            if (after) after();
          })
          .catch(function () { status.textContent = W.failed; });
      });
      wrap.appendChild(labelled(kind === "video" ? W.video : W.picture, file));
      if (cover) wrap.appendChild(labelled(W.preview_picture, cover));
      wrap.appendChild(go);
      wrap.appendChild(status);
      var known = media(kind);
      if (known.length) {
        var options = [["", W.none]].concat(known.map(function (m, i) {
          return [m.key, (kind === "video" ? W.video : W.picture) + " " + (known.length - i)];
        }));
        wrap.appendChild(labelled(W.choose_media, select(options, part.media, function (v) {
          part.media = v;
          draw();
        })));
      }
      return wrap;
    }

    function areaEditor(part) {
      var box = el("div", { className: "bc-areas" });
      var picture = mediaByKey(part.media);
      if (picture && picture.url) {
        var stage = el("div", { className: "bc-stage", "data-testid": "imagemap-stage" });
        var img = el("img", { src: picture.url, alt: "" });
        stage.appendChild(img);
        var scale = function () { return 1040 / (img.clientWidth || 1040); };
        (part.areas || []).forEach(function (a, n) {
          var rect = el("div", { className: "bc-rect", text: String(n + 1) });
          var place = function () {
            var s = scale();
            rect.style.left = a.x / s + "px";
            rect.style.top = a.y / s + "px";
            rect.style.width = a.width / s + "px";
            rect.style.height = a.height / s + "px";
          };
          img.addEventListener("load", place);
          window.requestAnimationFrame(place);
          stage.appendChild(rect);
        });
        var from = null;
        var ghost = el("div", { className: "bc-rect bc-ghost" });
        stage.addEventListener("pointerdown", function (e) {
          var r = img.getBoundingClientRect();
          from = [e.clientX - r.left, e.clientY - r.top];
          stage.appendChild(ghost);
          stage.setPointerCapture(e.pointerId);
          e.preventDefault();
        });
        stage.addEventListener("pointermove", function (e) {
          if (!from) return;
          var r = img.getBoundingClientRect();
          var x = Math.max(0, Math.min(e.clientX - r.left, r.width));
          var y = Math.max(0, Math.min(e.clientY - r.top, r.height));
          ghost.style.left = Math.min(x, from[0]) + "px";
          ghost.style.top = Math.min(y, from[1]) + "px";
          ghost.style.width = Math.abs(x - from[0]) + "px";
          ghost.style.height = Math.abs(y - from[1]) + "px";
        });
        stage.addEventListener("pointerup", function (e) {
          if (!from) return;
          var r = img.getBoundingClientRect();
          var s = scale();
          var x = Math.max(0, Math.min(e.clientX - r.left, r.width));
          var y = Math.max(0, Math.min(e.clientY - r.top, r.height));
          var area = {
            x: Math.round(Math.min(x, from[0]) * s), y: Math.round(Math.min(y, from[1]) * s),
            width: Math.round(Math.abs(x - from[0]) * s), height: Math.round(Math.abs(y - from[1]) * s),
            link: "https://", tags: [],
          };
          from = null;
          if (area.width > 8 && area.height > 8 && (part.areas || []).length < 50) {
            part.areas = (part.areas || []).concat([area]);
            draw();
          } else if (ghost.parentNode) {
            ghost.parentNode.removeChild(ghost);
          }
        });
        box.appendChild(stage);
        box.appendChild(el("p", { className: "bc-help", text: W.draw_hint }));
      }
      (part.areas || []).forEach(function (a, n) {
        var row = el("fieldset", { className: "bc-area", "data-testid": "area" }, [
          el("legend", { text: fmt(W.area, n + 1) }),
        ]);
        var nums = el("div", { className: "bc-nums" });
        ["x", "y", "width", "height"].forEach(function (k) {
          nums.appendChild(labelled(W[k] || k, input(a[k], function (v) { a[k] = parseInt(v, 10) || 0; sync(); }, { type: "number", min: "0", inputmode: "numeric" })));
        });
        row.appendChild(nums);
        row.appendChild(labelled(W.link, input(a.link, function (v) { a.link = v; sync(); }, { type: "url" })));
        var tags = tagPicker(a);
        if (tags) row.appendChild(tags);
        var remove = el("button", { type: "button", className: "bc-link" }, [W.remove]);
        remove.addEventListener("click", function () { part.areas.splice(n, 1); draw(); });
        row.appendChild(remove);
        box.appendChild(row);
      });
      var add = el("button", { type: "button", className: "bc-btn" }, [W.add_area]);
      add.addEventListener("click", function () {
        part.areas = (part.areas || []).concat([{ x: 0, y: 0, width: 1040, height: 520, link: "https://", tags: [] }]);
        draw();
      });
      box.appendChild(add);
      return box;
    }

    function body(part) {
      var box = el("div", { className: "bc-part-body" });
      if (part.type === "text") {
        var area = el("textarea", { rows: "4", "data-testid": "text" });
        area.value = part.text || "";
        area.addEventListener("input", function () { part.text = area.value; sync(); });
        var buttons = el("div", { className: "bc-placeholders" }, [el("span", { text: W.placeholders })]);
        data.placeholders.forEach(function (name) {
          var b = el("button", { type: "button", className: "bc-chip", "data-placeholder": name }, ["{" + name + "}"]);
          b.addEventListener("click", function () {
            var at = area.selectionStart == null ? area.value.length : area.selectionStart;
            var token = "{" + name + "}";
            area.value = area.value.slice(0, at) + token + area.value.slice(area.selectionEnd || at);
            part.text = area.value;
            area.focus();
            area.selectionStart = area.selectionEnd = at + token.length;
            sync();
          });
          buttons.appendChild(b);
        });
        box.appendChild(labelled(W.text, area));
        box.appendChild(buttons);
      } else if (part.type === "image" || part.type === "video") {
        box.appendChild(uploader(part, part.type));
      } else if (part.type === "imagemap") {
        box.appendChild(uploader(part, "image"));
        box.appendChild(labelled(W.alt_text, input(part.alt_text, function (v) { part.alt_text = v; sync(); }, { maxlength: "400" })));
        box.appendChild(areaEditor(part));
      } else if (part.type === "card") {
        var cards = Object.keys(data.cards).map(function (k) { return [k, data.cards[k]]; });
        box.appendChild(labelled(W.template, select(cards, part.template, function (v) {
          part.template = v;
          if (v !== "reward") delete part.reward;
          draw();
        }, { "data-testid": "card-template" })));
        if (part.template === "reward") {
          var rewards = [["", W.none]].concat(data.rewards.map(function (r) { return [r.id, r.name]; }));
          box.appendChild(labelled(W.reward, select(rewards, part.reward, function (v) { part.reward = v; sync(); }, { "data-testid": "card-reward" })));
        }
      } else if (part.type === "link") {
        var pages = Object.keys(data.pages).map(function (k) { return [k, data.pages[k]]; });
        box.appendChild(labelled(W.page, select(pages, part.page, function (v) { part.page = v; sync(); })));
        box.appendChild(labelled(W.label, input(part.label, function (v) { part.label = v; sync(); }, { maxlength: "40", "data-testid": "link-label" })));
        var tags = tagPicker(part);
        if (tags) box.appendChild(tags);
      }
      return box;
    }

    function draw() {
      list.textContent = "";
      parts.forEach(function (part, i) {
        var head = el("div", { className: "bc-part-head" }, [
          el("strong", { text: fmt(W.message, i + 1) + " · " + (data.types[part.type] || part.type) }),
        ]);
        [["up", -1], ["down", 1]].forEach(function (m) {
          var target = i + m[1];
          if (target < 0 || target >= parts.length) return;
          var b = el("button", { type: "button", className: "bc-link", "aria-label": W[m[0]] }, [m[1] < 0 ? "↑" : "↓"]);
          b.addEventListener("click", function () {
            var moved = parts.splice(i, 1)[0];
            parts.splice(target, 0, moved);
            draw();
          });
          head.appendChild(b);
        });
        var remove = el("button", { type: "button", className: "bc-link" }, [W.remove]);
        remove.addEventListener("click", function () { parts.splice(i, 1); draw(); });
        head.appendChild(remove);
        list.appendChild(el("fieldset", { className: "bc-part", "data-testid": "part", "data-type": part.type }, [head, body(part)]));
      });
      if (!parts.length) list.appendChild(el("p", { className: "bc-help", text: W.empty }));
      bar.querySelectorAll("button").forEach(function (b) { b.disabled = parts.length >= data.max; });
      bar.title = parts.length >= data.max ? fmt(W.limit, data.max) : "";
      sync();
    }

    // --- the preview ----------------------------------------------------------------------------
    function sample(text) {
      var values = { name: "คุณนก", shop: data.shop, balance: "1,250", tier: "Gold", expiring_points: "200", expiry_date: "31/12" };
      return String(text || "").replace(/\{(\w+)\}/g, function (m, name) { return values[name] || m; });
    }

    function bubble(part) {
      if (part.type === "text") return el("div", { className: "bc-bubble" }, [sample(part.text)]);
      if (part.type === "image" || part.type === "imagemap") {
        var m = mediaByKey(part.media);
        return m && m.url ? el("img", { className: "bc-bubble-img", src: m.url, alt: "" }) : el("div", { className: "bc-bubble bc-muted", text: data.types[part.type] });
      }
      if (part.type === "video") {
        var v = mediaByKey(part.media);
        return v && v.preview ? el("div", { className: "bc-video" }, [el("img", { className: "bc-bubble-img", src: v.preview, alt: "" }), el("span", { text: "▶" })]) : el("div", { className: "bc-bubble bc-muted", text: data.types.video });
      }
      var title = data.shop, line = "", button = "";
      if (part.type === "card") {
        if (part.template === "balance") { line = W.balance_card; button = data.pages.card; }
        if (part.template === "coupon") { title = W.coupon_card; button = data.pages.coupons; }
        if (part.template === "reward") {
          var r = data.rewards.filter(function (x) { return x.id === part.reward; })[0];
          title = r ? r.name : data.cards.reward; line = r ? String(W.points).replace("%(points)s", r.points.toLocaleString()) : ""; button = W.redeem;
        }
      } else {
        button = part.label || data.pages[part.page];
      }
      return el("div", { className: "bc-flex" }, [
        el("strong", { text: title }), line ? el("p", { text: line }) : null, el("span", { className: "bc-flex-btn", text: button }),
      ]);
    }

    function drawPreview() {
      if (!preview) return;
      preview.textContent = "";
      parts.forEach(function (part) { preview.appendChild(bubble(part)); });
    }

    // --- "send at a date and time": its fields only when chosen ----------------------------------
    var later = document.querySelector("[data-bc-later]");
    var modes = form.querySelectorAll("input[name=send_mode]");
    function showLater() {
      var chosen = form.querySelector("input[name=send_mode]:checked");
      if (later) later.hidden = !(chosen && chosen.value === "later");
    }
    modes.forEach(function (m) { m.addEventListener("change", showLater); });
    showLater();

    draw();
  }
})();
