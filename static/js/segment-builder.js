// The segment builder (admin): one row per condition with the controls of its kind, kept in the
// form's hidden "conditions" field as the JSON campaigns/segments/conditions.py reads; after each
// change (debounced) the conditions go to the count endpoint, which answers the count split by
// reach on LINE and the first members, or each condition's problems, shown on its row.
// Every word comes translated from the page (json_script); no inline script, no eval (CSP).
(function () {
"use strict";
function segmentBuilder() {
  var root = document.querySelector("[data-segment-builder]");
  var dataNode = document.getElementById("segment-builder-data");
  if (!root || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var W = data.words;
  var form = root.closest("form");
  var hidden = form && form.querySelector("input[name=conditions]");
  var csrf = form && form.querySelector("input[name=csrfmiddlewaretoken]");
  var rowsBox = root.querySelector("[data-rows]");
  var countBody = root.querySelector("[data-count-body]");
  var kindSelect = root.querySelector("[data-kind-select]");
  var conditions = Array.isArray(data.conditions) ? data.conditions : [];
  var errors = Array.isArray(data.errors) ? data.errors : [];
  var memberLabels = data.member_labels || {};
  var uid = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function nextId(prefix) { uid += 1; return "sb-" + prefix + "-" + uid; }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf ? csrf.value : "",
      },
      body: JSON.stringify(body),
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }
  function get(url, params) {
    var query = new URLSearchParams(params).toString();
    return fetch(url + "?" + query, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  // --- state → hidden field → count -------------------------------------------------------------
  var timer = null;
  var asked = 0;
  function changed() {
    if (hidden) hidden.value = JSON.stringify(conditions);
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 400);
  }
  function count() {
    asked += 1;
    var mine = asked;
    root.setAttribute("data-state", "counting");
    post(root.getAttribute("data-count-url"), {
      conditions: conditions, segment: root.getAttribute("data-segment"),
    }).then(function (answer) {
      if (mine !== asked) return;
      errors = answer.errors || [];
      showErrors();
      showCount(answer);
      root.setAttribute("data-state", answer.ok ? "counted" : "invalid");
    }).catch(function () {
      if (mine !== asked) return;
      countBody.replaceChildren(el("p", { className: "sb-errors", text: W.failed }));
      root.setAttribute("data-state", "failed");
    });
  }

  function number(n) { return Number(n).toLocaleString(); }

  function showCount(answer) {
    if (!answer.ok) {
      var box = [el("p", { className: "sb-help", text: W.fix })];
      (answer.problems || []).forEach(function (p) {
        box.push(el("p", { className: "sb-errors", text: p }));
      });
      countBody.replaceChildren.apply(countBody, box);
      return;
    }
    var not = answer.not_reachable;
    var reasons = el("ul", { className: "sb-reasons" }, [
      el("li", { text: W.not_bound + ": " + number(not.not_bound), "data-testid": "count-not-bound" }),
      el("li", { text: W.blocked + ": " + number(not.blocked), "data-testid": "count-blocked" }),
      el("li", { text: W.not_friend + ": " + number(not.not_friend), "data-testid": "count-not-friend" }),
    ]);
    var numbers = el("dl", { className: "sb-numbers" }, [
      el("div", {}, [el("dt", { text: W.total }),
        el("dd", { text: number(answer.total), "data-testid": "count-total" })]),
      el("div", { className: "sb-line" }, [el("dt", { text: W.line }),
        el("dd", { text: number(answer.line_reachable), "data-testid": "count-line" })]),
      el("div", {}, [el("dt", { text: W.not_reachable }),
        el("dd", { text: number(not.total), "data-testid": "count-not-reachable" })]),
    ]);
    var parts = [numbers, reasons, el("h3", { className: "sb-subtitle", text: W.preview })];
    if (!answer.preview.length) {
      parts.push(el("p", { className: "sb-help", text: W.empty }));
    } else {
      var body = el("tbody");
      answer.preview.forEach(function (m) {
        body.appendChild(el("tr", { "data-testid": "preview-row" }, [
          el("td", { text: m.name, "data-label": W.name }),
          el("td", { text: m.phone || "—", "data-label": W.phone }),
          el("td", { text: m.tier || "—", "data-label": W.tier_col }),
          el("td", { text: number(m.balance), className: "num", "data-label": W.points }),
        ]));
      });
      parts.push(el("table", { className: "sb-preview" }, [
        el("thead", {}, [el("tr", {}, [
          el("th", { text: W.name }), el("th", { text: W.phone }),
          el("th", { text: W.tier_col }), el("th", { text: W.points, className: "num" }),
        ])]),
        body,
      ]));
    }
    countBody.replaceChildren.apply(countBody, parts);
  }

  function showErrors() {
    Array.prototype.forEach.call(rowsBox.children, function (row, i) {
      var box = row.querySelector("[data-row-errors]");
      var mine = errors[i] || [];
      box.replaceChildren.apply(box, mine.map(function (m) { return el("li", { text: m }); }));
      row.classList.toggle("sb-invalid", mine.length > 0);
    });
  }

  // --- controls ----------------------------------------------------------------------------------
  function field(labelText, control) {
    var id = control.id || nextId("f");
    control.id = id;
    return el("div", { className: "sb-field" }, [el("label", { for: id, text: labelText }), control]);
  }

  function select(options, value, onChange) {
    var s = el("select");
    options.forEach(function (o) {
      var opt = el("option", { value: String(o[0]), text: o[1] });
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  }

  function checks(cond, key, options, name) {
    if (!options.length) return el("p", { className: "sb-help", text: W.nothing });
    var chosen = (cond[key] || []).map(String);
    var box = el("div", { className: "sb-checks", role: "group", "aria-label": name });
    options.forEach(function (o) {
      var id = nextId("c");
      var input = el("input", { type: "checkbox", id: id, value: String(o.id) });
      input.checked = chosen.indexOf(String(o.id)) >= 0;
      input.addEventListener("change", function () {
        var values = Array.prototype.filter.call(
          box.querySelectorAll("input"), function (i) { return i.checked; }
        ).map(function (i) { return typeof o.id === "number" ? Number(i.value) : i.value; });
        cond[key] = values;
        changed();
      });
      box.appendChild(el("label", { className: "sb-check", for: id }, [input, el("span", { text: o.label })]));
    });
    return box;
  }

  function modeSelect(cond, words) {
    if (!cond.mode) cond.mode = "any";
    return field(W.mode, select(
      [["any", words[0]], ["all", words[1]], ["none", words[2]]], cond.mode,
      function (v) { cond.mode = v; changed(); }
    ));
  }

  function dateInput(cond, key, label) {
    var input = el("input", { type: "date" });
    input.value = cond[key] || "";
    input.addEventListener("change", function () {
      if (input.value) cond[key] = input.value; else delete cond[key];
      changed();
    });
    return field(label, input);
  }

  function windowControls(cond) {
    return el("div", { className: "sb-inline" }, [dateInput(cond, "since", W.since), dateInput(cond, "until", W.until)]);
  }

  function numberInput(cond, key, label) {
    var input = el("input", { type: "number", step: "1", inputmode: "numeric" });
    if (cond[key] !== undefined && cond[key] !== null) input.value = cond[key];
    input.addEventListener("input", function () {
      if (input.value === "") delete cond[key];
      else cond[key] = Number.isNaN(parseInt(input.value, 10)) ? input.value : parseInt(input.value, 10);
      changed();
    });
    return field(label, input);
  }

  function flag(cond, key) {
    if (typeof cond[key] !== "boolean") cond[key] = true;
    return field(W[cond.kind], select([["true", W.yes], ["false", W.no]], String(cond[key]),
      function (v) { cond[key] = v === "true"; changed(); }));
  }

  function products(cond) {
    if (!Array.isArray(cond.products)) cond.products = [];
    var listId = nextId("products");
    var datalist = el("datalist", { id: listId });
    var box = el("div", { className: "sb-products" });
    var lookup = null;
    function sync() {
      cond.products = Array.prototype.map.call(box.querySelectorAll("input"), function (i) {
        return i.value.trim();
      }).filter(Boolean);
      changed();
    }
    for (var i = 0; i < data.max_products; i += 1) {
      var input = el("input", {
        type: "text", list: listId, maxlength: "200", placeholder: W.product,
        "aria-label": W.product + " " + (i + 1), "data-product": String(i + 1),
      });
      input.value = cond.products[i] || "";
      input.addEventListener("input", function (event) {
        sync();
        var term = event.target.value.trim();
        window.clearTimeout(lookup);
        lookup = window.setTimeout(function () {
          get(root.getAttribute("data-products-url"), { q: term, segment: root.getAttribute("data-segment") })
            .then(function (answer) {
              datalist.replaceChildren.apply(datalist, answer.products.map(function (p) {
                return el("option", { value: p });
              }));
            }).catch(function () {});
        }, 250);
      });
      box.appendChild(input);
    }
    return el("div", {}, [box, datalist, el("p", { className: "sb-help", text: W.products_help })]);
  }

  function members(cond) {
    if (!Array.isArray(cond.members)) cond.members = [];
    var chips = el("ul", { className: "sb-chips", "data-testid": "member-chips" });
    function drawChips() {
      chips.replaceChildren.apply(chips, cond.members.map(function (id) {
        var remove = el("button", { type: "button", className: "sb-chip-x", "aria-label": W.remove, text: "×" });
        remove.addEventListener("click", function () {
          cond.members = cond.members.filter(function (m) { return m !== id; });
          drawChips();
          changed();
        });
        return el("li", { className: "sb-chip" }, [el("span", { text: memberLabels[String(id)] || "#" + id }), remove]);
      }));
    }
    function pick(found) {
      found.forEach(function (m) {
        memberLabels[String(m.id)] = m.label;
        if (cond.members.indexOf(m.id) < 0) cond.members.push(m.id);
      });
      drawChips();
      changed();
    }
    var results = el("ul", { className: "sb-results" });
    var search = el("input", { type: "search", placeholder: W.search_member, autocomplete: "off" });
    var wait = null;
    search.addEventListener("input", function () {
      window.clearTimeout(wait);
      wait = window.setTimeout(function () {
        get(root.getAttribute("data-search-url"), { q: search.value, segment: root.getAttribute("data-segment") })
          .then(function (answer) {
            results.replaceChildren.apply(results, answer.members.map(function (m) {
              var b = el("button", { type: "button", className: "sb-result", text: m.label });
              b.addEventListener("click", function () { pick([m]); results.replaceChildren(); search.value = ""; });
              return el("li", {}, [b]);
            }));
          }).catch(function () {});
      }, 250);
    });
    var paste = el("textarea", { rows: "3" });
    var unknown = el("p", { className: "sb-errors" });
    var add = el("button", { type: "button", className: "sb-btn", text: W.paste_add });
    add.addEventListener("click", function () {
      post(root.getAttribute("data-resolve-url"), { text: paste.value, segment: root.getAttribute("data-segment") })
        .then(function (answer) {
          pick(answer.members);
          unknown.textContent = answer.unknown.length ? W.not_found + ": " + answer.unknown.join(", ") : "";
          paste.value = answer.unknown.join("\n");
        }).catch(function () {});
    });
    drawChips();
    return el("div", { className: "sb-members" }, [
      chips, field(W.search_member, search), results, field(W.paste, paste), add, unknown,
    ]);
  }

  function signupAnswer(cond) {
    var box = el("div");
    function draw() {
      var question = data.questions.filter(function (q) { return q.id === cond.question; })[0];
      var parts = [field(W.question, select(
        data.questions.map(function (q) { return [q.id, q.label]; }), cond.question,
        function (v) { cond.question = Number(v); delete cond.choices; cond.answered = true; draw(); changed(); }
      ))];
      var how = cond.choices ? "chose" : (cond.answered === false ? "no" : "yes");
      var options = [["yes", W.answered], ["no", W.not_answered]];
      if (question && question.choices.length) options.unshift(["chose", W.chose]);
      parts.push(field(W.mode, select(options, how, function (v) {
        delete cond.choices; delete cond.answered;
        if (v === "chose") cond.choices = []; else cond.answered = v === "yes";
        draw(); changed();
      })));
      if (cond.choices && question) parts.push(checks(cond, "choices", question.choices, W.chose));
      box.replaceChildren.apply(box, parts);
    }
    if (!data.questions.length) return el("p", { className: "sb-help", text: W.nothing });
    if (!cond.question) cond.question = data.questions[0].id;
    if (!cond.choices && typeof cond.answered !== "boolean") cond.answered = true;
    draw();
    return box;
  }

  var CONTROLS = {
    all: function () { return null; },
    pending: function () { return null; },
    rfm: function (c) { return checks(c, "groups", data.rfm, W.rfm); },
    purchased: function (c) {
      return el("div", {}, [modeSelect(c, [W.bought_any, W.bought_all, W.bought_none]), products(c), windowControls(c)]);
    },
    tags: function (c) {
      return el("div", {}, [modeSelect(c, [W.mode_any, W.mode_all, W.mode_none]), checks(c, "tags", data.tags, W.tags)]);
    },
    balance: function (c) {
      return el("div", { className: "sb-inline" }, [numberInput(c, "min", W.min), numberInput(c, "max", W.max)]);
    },
    birth_month: function (c) { return checks(c, "months", data.months, W.birth_month); },
    tier: function (c) { return checks(c, "tiers", data.tiers, W.tier); },
    members: members,
    bound: function (c) { return flag(c, "bound"); },
    line_friend: function (c) { return flag(c, "friend"); },
    joined: windowControls,
    last_visit: windowControls,
    last_visit_branch: function (c) { return checks(c, "branches", data.branches, W.last_visit_branch); },
    reward: function (c) { return checks(c, "rewards", data.rewards, W.reward); },
    signup_answer: signupAnswer,
  };

  function drawRows() {
    var rows = conditions.map(function (cond, i) {
      var remove = el("button", { type: "button", className: "sb-btn sb-btn-quiet", text: W.remove, "data-remove": "" });
      remove.addEventListener("click", function () {
        conditions.splice(i, 1);
        errors.splice(i, 1);
        drawRows();
        changed();
      });
      var make = CONTROLS[cond.kind];
      var title = (i > 0 ? W.and + " · " : "") + (W[cond.kind] || cond.kind);
      return el("li", { className: "sb-row", "data-kind": cond.kind, "data-testid": "condition" }, [
        el("div", { className: "sb-row-head" }, [el("strong", { text: title }), remove]),
        make ? make(cond) : null,
        el("ul", { className: "sb-row-errors", role: "alert", "data-row-errors": "" }),
      ]);
    });
    rowsBox.replaceChildren.apply(rowsBox, rows);
    showErrors();
  }

  data.kinds.forEach(function (kind) {
    kindSelect.appendChild(el("option", { value: kind, text: W[kind] }));
  });
  root.querySelector("[data-add]").addEventListener("click", function () {
    conditions.push({ kind: kindSelect.value });
    errors.push([]);
    drawRows();
    changed();
    var last = rowsBox.lastElementChild;
    var first = last && last.querySelector("input, select, textarea");
    if (first) first.focus();
  });

  drawRows();
  changed();
}
// The admin loads its scripts in the page's head: wait for the builder's markup.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", segmentBuilder);
} else {
  segmentBuilder();
}
})();
