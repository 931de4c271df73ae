// Keeps job progress (templates/jobs/_status.html) up to date where htmx is not loaded: polls
// each unfinished job's status fragment and swaps it in, as the hx-get attributes do with htmx.
(function () {
  "use strict";
  function poll(section) {
    var url = section.getAttribute("data-poll-url");
    if (!url) return;
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh) return;
          section.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { poll(section); });
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) return;
    document.querySelectorAll("[data-poll-url]").forEach(poll);
  });
})();
