// Keyboard shortcuts of the duplicate group page (search/duplicates/templates/duplicates/
// group.html). Each shortcut clicks the element marked data-shortcut="KEY":
//   d  duplicate, keep left      D (Shift+d)  duplicate, keep right
//   v  variant    e  enemy pair  n  not a duplicate
//   j / →  next group            k / ←  previous group
//   ?  show or hide the shortcut help        Esc  close it
// Keys are ignored while typing in a field or with Ctrl/Alt/Meta held.
(function () {
  "use strict";
  var ALIASES = { ArrowRight: "j", ArrowLeft: "k" };

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function help() { return document.getElementById("shortcut-help"); }

  function toggleHelp(show) {
    var box = help();
    if (!box) return;
    var open = typeof show === "boolean" ? show : box.hidden;
    box.hidden = !open;
    if (open) {
      var close = box.querySelector("[data-close-help]");
      if (close) close.focus();
    }
  }

  function trigger(key) {
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (!target || target.disabled) return false;
    target.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = ALIASES[event.key] || event.key;
    if (key === "Escape") {
      toggleHelp(false);
      return;
    }
    if (key === "?") {
      toggleHelp();
      event.preventDefault();
      return;
    }
    var box = help();
    if (box && !box.hidden) return; // the help is open: only ? and Esc act
    if (["d", "D", "v", "e", "n", "j", "k"].indexOf(key) === -1) return;
    if (trigger(key)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-close-help]");
    if (target) toggleHelp(false);
    var opener = event.target.closest && event.target.closest('[data-shortcut="?"]');
    if (opener && event.isTrusted) toggleHelp();
  });
})();
