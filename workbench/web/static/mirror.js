/* The static mirror's only script: search over a prebuilt index, and PDF verification by
   hashing the file in the browser (Web Crypto). Same folding as workbench/registry/search.py. */
(function () {
  "use strict";
  var box = document.getElementById("mirror");
  if (!box) return;
  var T = JSON.parse(box.dataset.texts);
  var KK = {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и"};
  function fold(s) {
    return s.toLowerCase().replace(/[әғқңөұүһі]/g, function (c) { return KK[c]; })
      .normalize("NFKD").replace(/\p{M}/gu, "");
  }
  function words(s) { return fold(s).replace(/_/g, " ").match(/[\p{L}\p{N}]+/gu) || []; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;  /* text, never markup */
    return e;
  }
  function link(id) { return box.dataset.label.replace("ID", encodeURIComponent(id)); }
  function badge(status) { return el("span", {"class": "badge s-" + status}, T["status_" + status] || status); }

  var form = document.querySelector("form[data-mirror-search]");
  if (form) {
    var cache = {};
    function get(path) {  /* each index file once per page */
      if (!cache[path]) cache[path] = fetch(box.dataset.index + path).then(function (r) { return r.ok ? r.json() : {}; });
      return cache[path];
    }
    function labelsOf(w) {  /* the labels with a word that starts with w (one letter: is w) */
      return get("words/" + encodeURIComponent(w.slice(0, 2)) + ".json").then(function (shard) {
        var found = new Set();
        Object.keys(shard).forEach(function (k) {
          if (w.length > 1 ? k.indexOf(w) === 0 : k === w) {
            var n = 0;
            shard[k].forEach(function (d) { n += d; found.add(n); });
          }
        });
        return found;
      });
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = words(form.querySelector("input[name=q]").value).slice(0, 12);
      Promise.all([get("meta.json")].concat(q.map(labelsOf))).then(function (r) {
        var per = r[0].cards_per_file, sets = r.slice(1);
        var hits = sets.length ? Array.from(sets[0]).filter(function (n) {
          return sets.every(function (s) { return s.has(n); });
        }).sort(function (a, b) { return a - b; }) : [];
        var shown = hits.slice(0, 50);
        var files = Array.from(new Set(shown.map(function (n) { return Math.floor(n / per); })));
        return Promise.all(files.map(function (k) { return get("cards/" + k + ".json"); })).then(function (chunks) {
          var byFile = {};
          files.forEach(function (k, i) { byFile[k] = chunks[i]; });
          render(hits.length, shown.map(function (n) { return byFile[Math.floor(n / per)][n % per]; }));
        });
      });
    });
    function render(total, cards) {
      var out = document.getElementById("mirror-results");
      out.textContent = "";
      out.appendChild(el("p", {"class": "count"}, total ? T.found.replace("{n}", total) : T.empty));
      var ul = el("ul", {"class": "cards"});
      cards.forEach(function (l) {
        var li = el("li", {"class": "card"}), h = el("h2");
        h.appendChild(el("a", {"href": link(l[0])}, l[1]));
        h.appendChild(document.createTextNode(" " + l[2]));
        li.appendChild(h);
        var p = el("p");
        p.appendChild(badge(l[4]));
        if (l[5]) {  // under re-review after a complaint, as on the live cards
          var r = el("span", {"class": "badge s-re_review"});
          r.appendChild(el("span", {"aria-hidden": "true"}, "⟳"));
          r.appendChild(document.createTextNode(" " + T.re_review));
          p.appendChild(document.createTextNode(" "));
          p.appendChild(r);
        }
        p.appendChild(el("span", {"class": "muted"}, " " + l[3] + " · " + l[0]));
        li.appendChild(p);
        ul.appendChild(li);
      });
      out.appendChild(ul);
      ["count", "cards-static"].forEach(function (id) { var x = document.getElementById(id); if (x) x.hidden = true; });
    }
  }

  var vform = document.getElementById("mirror-verify");
  if (vform) {
    var answer = document.getElementById("mirror-answer");
    var data = null;
    function registry() {
      return data ? Promise.resolve(data) : fetch(box.dataset.data).then(function (r) { return r.json(); })
        .then(function (d) { data = d; return d; });
    }
    function show(ok, text, label) {
      answer.textContent = "";
      var s = el("section", {"class": "answers " + (ok ? "ok" : "bad")});
      s.appendChild(el("p", {"class": ok ? "yes" : "no"}, text));
      if (label) {
        var p = el("p");
        p.appendChild(badge(label.status));
        p.appendChild(document.createTextNode(" "));
        p.appendChild(el("a", {"href": link(label.label_id)}, label.tool_name + " · " + label.label_id));
        s.appendChild(p);
      }
      answer.appendChild(s);
    }
    function byId(id) {
      id = id.trim().toUpperCase();
      registry().then(function (d) {
        var l = d.labels.filter(function (x) { return x.label_id === id; })[0];
        if (l) show(l.status === "active", l.tool_name, l); else show(false, T.label_unknown.replace("{id}", id));
      });
    }
    vform.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = vform.querySelector("input[type=file]").files[0];
      if (!file) { byId(vform.querySelector("input[name=label]").value); return; }
      Promise.all([file.arrayBuffer().then(function (b) { return crypto.subtle.digest("SHA-256", b); }), registry()])
        .then(function (r) {
          var hex = Array.from(new Uint8Array(r[0])).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
          var l = r[1].labels.filter(function (x) { return x.audit_pdf_sha256 === hex; })[0];
          if (l) show(l.status === "active", T.pdf_known.replace("{id}", l.label_id), l); else show(false, T.pdf_unknown);
        });
    });
    vform.querySelector("input[type=file]").addEventListener("change", function () { vform.requestSubmit(); });
    var asked = new URLSearchParams(location.search).get("label");
    if (asked) { vform.querySelector("input[name=label]").value = asked; byId(asked); }
  }
})();
