/* Lays out one derivation document (the schema-1 JSON plus its `page` object) with KaTeX.
   Shared by the served page and the standalone HTML file; it builds DOM nodes only from
   text (textContent) and KaTeX, except the DAG's SVG, which the server drew and escaped. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function math(tex, display) {
    var node = el(display ? "div" : "span", display ? "math display" : "math");
    node.setAttribute("data-tex", tex);
    try {
      window.katex.render(tex, node, {displayMode: !!display, throwOnError: false, strict: "ignore",
                                      trust: false, maxSize: 50, maxExpand: 2000});
    } catch (e) {
      node.textContent = tex;
    }
    return node;
  }

  function shapeText(shapes) {
    var parts = [];
    Object.keys(shapes || {}).forEach(function (key) {
      parts.push(key + ": " + shapes[key]);
    });
    return parts.join(" · ");
  }

  function render(container, doc) {
    var page = doc.page;
    container.textContent = "";
    var head = el("section", "summary");
    var kinds = {hessian: "Hessian of ", hvp: "Hessian-vector product of "};
    var title = el("h2", null, doc.second ? kinds[doc.second.kind] || "Second derivative of " : "Derivative of ");
    title.appendChild(el("code", null, doc.input.split(/\s+/).join(" ")));
    title.appendChild(document.createTextNode(" by "));
    title.appendChild(math(page.wrt_latex, false));
    head.appendChild(title);
    head.appendChild(math(page.equation_latex, true));
    var how = el("p", "how", "Chain rule: " + doc.chain_rule + "; layout: " + doc.layout + " (we want ");
    how.appendChild(math(page.want_latex, false));
    how.appendChild(document.createTextNode(")."));
    head.appendChild(how);
    doc.notes.forEach(function (note) { head.appendChild(el("p", "note", "Note: " + note)); });
    container.appendChild(head);

    page.blocks.forEach(function (block) {
      var details = el("details", "block kind-" + block.kind);
      details.open = true;
      var summary = el("summary", null, block.number + ". " + block.title);
      if (block.wrt_latex) {
        summary.appendChild(document.createTextNode(" (by "));
        summary.appendChild(math(block.wrt_latex, false));
        summary.appendChild(document.createTextNode(")"));
      }
      details.appendChild(summary);
      block.steps.forEach(function (step) {
        var line = el("div", "step");
        line.appendChild(math(step.latex, true));
        var side = el("div", "side");
        side.appendChild(el("span", "rule", step.rule));
        var shapes = shapeText(step.shapes);
        if (shapes) side.appendChild(el("span", "shapes", shapes));
        line.appendChild(side);
        details.appendChild(line);
        if (step.explanation) details.appendChild(el("p", "explanation", step.explanation));
      });
      container.appendChild(details);
    });

    var result = el("section", "result");
    result.appendChild(el("h3", null, "Result"));
    result.appendChild(math(page.result_latex, true));
    container.appendChild(result);

    (page.reports || []).forEach(function (report) {
      container.appendChild(el("p", "report " + report.kind + " " + (report.good ? "good" : "bad"), report.line));
    });

    var graph = el("section", "graph");
    graph.appendChild(el("h3", null, "Dataflow graph"));
    (page.paths || []).forEach(function (line) { graph.appendChild(el("p", "paths", line)); });
    if (page.graph_svg) {
      var holder = el("div", "svg-holder");
      var legend = el("p", "legend");
      var show = function (svg, name) {
        var parsed = new DOMParser().parseFromString(svg, "image/svg+xml");
        holder.textContent = "";
        holder.appendChild(document.importNode(parsed.documentElement, true));
        legend.textContent = "red: on a path from " + name + " to the output";
      };
      var choices = [{wrt: doc.wrt[0], svg: page.graph_svg}].concat(page.graphs || []);
      if (choices.length > 1) {
        var pick = el("select", "graph-wrt");
        pick.setAttribute("aria-label", "paths from");
        choices.forEach(function (choice, i) {
          var option = el("option", null, "paths from " + choice.wrt);
          option.value = String(i);
          pick.appendChild(option);
        });
        pick.addEventListener("change", function () {
          var choice = choices[Number(pick.value)];
          show(choice.svg, choice.wrt);
        });
        graph.appendChild(pick);
      }
      show(page.graph_svg, doc.wrt[0]);
      graph.appendChild(holder);
      graph.appendChild(legend);
    } else {
      graph.appendChild(el("p", "legend", "(the graph is too large to draw)"));
    }
    container.appendChild(graph);
  }

  window.MatcalcDerivation = {render: render};
})();
