/* The page's behaviour: read the form, POST /api/derive, show the derivation or the error under its
   field (with the caret), keep the question in the URL, the gallery, copy and download.
   No inline handlers (the Content-Security-Policy forbids them): everything is bound here. */
(function () {
  "use strict";
  var FIELDS = ["text", "wrt", "shapes", "answer", "second"];
  var FILES = {latex: ["steps.tex", "application/x-tex"], markdown: ["steps.md", "text/markdown"],
               json: ["steps.json", "application/json"], numpy: ["grad.py", "text/x-python"]};
  var current = null;
  var $ = function (id) { return document.getElementById(id); };

  function question() {
    var q = {text: $("text").value, layout: $("layout").value, mode: $("mode").value, check: $("check").checked};
    if ($("wrt").value.trim()) q.wrt = $("wrt").value.trim();
    if ($("shapes").value.trim()) q.shapes = $("shapes").value.trim();
    if ($("answer").value.trim()) q.answer = $("answer").value.trim();
    if ($("second").value) q.second = $("second").value;
    return q;
  }

  function fill(q) {
    $("text").value = q.text || "";
    $("wrt").value = q.wrt || "";
    $("shapes").value = q.shapes || "";
    $("answer").value = q.answer || "";
    $("layout").value = q.layout || "auto";
    $("mode").value = q.mode || "auto";
    $("check").checked = q.check === true || q.check === "1";
    $("second").value = q.second === "hessian" || q.second === "hvp" ? q.second : "";
  }

  function queryString(q) {
    var params = new URLSearchParams();
    ["text", "wrt", "shapes", "answer"].forEach(function (k) { if (q[k]) params.set(k, q[k]); });
    if (q.layout && q.layout !== "auto") params.set("layout", q.layout);
    if (q.mode && q.mode !== "auto") params.set("mode", q.mode);
    if (q.check) params.set("check", "1");
    if (q.second) params.set("second", q.second);
    return params.toString();
  }

  function clearErrors() {
    FIELDS.forEach(function (f) {
      var box = $("error-" + f);
      box.hidden = true;
      box.textContent = "";
      $(f).removeAttribute("aria-invalid");
    });
  }

  function showError(payload) {
    var field = FIELDS.indexOf(payload.field) >= 0 ? payload.field : "text";
    var box = $("error-" + field);
    box.textContent = "";
    box.appendChild(document.createTextNode(payload.error));
    if (payload.caret) {
      var pre = document.createElement("pre");
      pre.className = "caret";
      pre.textContent = payload.caret;
      box.appendChild(pre);
    }
    box.hidden = false;
    $(field).setAttribute("aria-invalid", "true");
  }

  function derive(event) {
    if (event) event.preventDefault();
    var q = question();
    clearErrors();
    history.replaceState(null, "", "?" + queryString(q));
    $("status").textContent = "deriving…";
    $("derive").disabled = true;
    fetch("/api/derive", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(q)})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (reply) {
        if (!reply.ok) {
          showError(reply.body);
          $("status").textContent = "";
          return;
        }
        current = reply.body;
        window.MatcalcDerivation.render($("derivation"), current);
        $("formats").hidden = false;
        $("status").textContent = "done";
      })
      .catch(function (err) {
        showError({error: "the server did not answer (" + err + ")", field: "text"});
        $("status").textContent = "";
      })
      .then(function () { $("derive").disabled = false; });
  }

  function formatText(name) {
    if (!current) return "";
    if (name === "json") {
      var copy = {};
      Object.keys(current).forEach(function (k) { if (k !== "page" && k !== "formats") copy[k] = current[k]; });
      return JSON.stringify(copy, null, 2) + "\n";
    }
    var text = current.formats[name];
    return text === null ? "# " + (current.formats[name + "_error"] || "not available") + "\n" : text;
  }

  function onFormat(event) {
    var button = event.target.closest("button");
    if (!button || !current) return;
    if (button.id === "share") {
      copy(location.href, "link");
      return;
    }
    var name = button.getAttribute("data-format");
    var text = formatText(name);
    if (button.getAttribute("data-action") === "copy") {
      copy(text, name);
    } else {
      var blob = new Blob([text], {type: FILES[name][1]});
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = FILES[name][0];
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    }
  }

  function copy(text, what) {
    var done = function () { $("copied").textContent = "copied " + what; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { $("copied").textContent = "copy refused"; });
    } else {
      $("copied").textContent = "copying needs localhost or https";
    }
  }

  function loadExamples() {
    fetch("/api/examples").then(function (r) { return r.json(); }).then(function (examples) {
      var holder = $("examples");
      var page = null;
      var list = null;
      examples.forEach(function (example) {
        if (example.page !== page) {
          page = example.page;
          holder.appendChild(Object.assign(document.createElement("h4"), {textContent: page}));
          list = document.createElement("ul");
          holder.appendChild(list);
        }
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "example";
        button.textContent = example.text + (example.wrt ? "  by " + example.wrt : "") +
          (example.second ? "  (" + (example.second === "hvp" ? "Hessian-vector product" : "Hessian") + ")" : "");
        button.title = example.sentence;
        button.addEventListener("click", function () {
          var shapes = Object.keys(example.shapes).map(function (k) { return k + "=" + example.shapes[k]; });
          fill({text: example.text, wrt: example.wrt || "", shapes: shapes.join("; "), answer: example.answer || "",
                second: example.second || ""});
          derive();
          window.scrollTo(0, 0);
        });
        item.appendChild(button);
        item.appendChild(document.createTextNode(" " + example.sentence));
        list.appendChild(item);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("question").addEventListener("submit", derive);
    $("text").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) derive(e);
    });
    $("formats").addEventListener("click", onFormat);
    loadExamples();
    var params = new URLSearchParams(location.search);
    if (params.get("text")) {
      var q = {};
      params.forEach(function (v, k) { q[k] = v; });
      fill(q);
      derive();
    }
  });
})();
