/* Render the LaTeX inside every element marked data-math, with KaTeX's auto-render.
 *
 * The server always sends the text HTML-escaped; auto-render only reads text nodes, so markup
 * typed into an item never becomes markup. trust:false keeps \href, \url, \includegraphics and
 * friends inert, and maxSize/maxExpand bound what a formula may cost to draw.
 */
(function () {
  "use strict";

  var OPTIONS = {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
    ],
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option", "input"],
    throwOnError: false,
    trust: false,
    strict: "ignore",
    maxSize: 20,
    maxExpand: 500,
    errorColor: "#c0392b",
  };

  function renderElement(el) {
    if (typeof window.renderMathInElement !== "function") return;
    if (el.dataset.mathRendered === "1") return;
    try {
      window.renderMathInElement(el, OPTIONS);
    } catch (err) {
      // A broken formula stays as typed; the rest of the page keeps working.
      if (window.console) console.warn("math rendering failed", err);
    }
    el.dataset.mathRendered = "1";
  }

  function render(root) {
    root = root || document.body;
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("[data-math]")) renderElement(root);
    root.querySelectorAll("[data-math]").forEach(renderElement);
  }

  /* Put plain text into an element (as text, never as HTML) and render its math. */
  function renderText(el, text) {
    el.textContent = text;
    delete el.dataset.mathRendered;
    renderElement(el);
  }

  window.ItembankMath = { render: render, renderText: renderText };

  document.addEventListener("DOMContentLoaded", function () {
    render(document.body);
  });
  // Content swapped in by htmx (filtered list results) is rendered as it arrives.
  document.addEventListener("htmx:load", function (event) {
    render(event.target);
  });
})();
