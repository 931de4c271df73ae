/* The item form's duplicate check while the teacher writes.
 *
 * A moment after the text, the choices, the subject or the figures change, the form's fields and
 * files are posted to the check address; probable duplicates are shown above the form at once.
 * While they are shown (and nothing changed since), "Save" points to them instead of saving;
 * "Save anyway" submits with the chosen relations, with the chosen files still in the form.
 * The server runs the same check on every save, so a check that has not answered yet (or no
 * script at all) never lets a duplicate through unannounced.
 */
(function () {
  "use strict";

  var WATCHED = ["stem", "choices", "subject", "new_images", "remove_images"];
  var DELAY = 700;

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("item-form");
    var box = document.getElementById("duplicate-check");
    if (!form || !box || !form.dataset.duplicateCheck || !window.fetch) return;
    var version = 0; // bumped by every relevant change
    var shown = 0; // the version the panel's content answers
    var timer = null;

    function render() {
      if (window.ItembankMath) window.ItembankMath.render(box);
    }
    render();

    function check() {
      var asked = version;
      var data = new FormData(form);
      data.delete("duplicate_confirmed");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(form.dataset.duplicateCheck, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("check failed: " + response.status);
          var count = parseInt(response.headers.get("X-Duplicate-Warnings") || "0", 10);
          return response.text().then(function (html) {
            return { count: count, html: html };
          });
        })
        .then(function (answer) {
          if (asked !== version) return; // changed meanwhile: a newer check is coming
          box.innerHTML = answer.count > 0 ? answer.html : "";
          shown = asked;
          render();
        })
        .catch(function () {
          /* the server checks again when the item is saved */
        });
    }

    function changed(event) {
      var target = event.target;
      if (!target || box.contains(target) || WATCHED.indexOf(target.name) === -1) return;
      version += 1;
      clearTimeout(timer);
      timer = setTimeout(check, DELAY);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);

    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.name === "duplicate_confirmed") return; // "save anyway"
      var warning = box.querySelector("#duplicate-warning");
      if (warning && shown === version) {
        event.preventDefault();
        warning.scrollIntoView({ behavior: "smooth", block: "start" });
        warning.focus({ preventScroll: true });
      }
    });
  });
})();
