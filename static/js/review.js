// Keyboard shortcuts of the expert review pages (search/review/templates/review/queue.html and
// adjudicate.html); the form is marked data-review-form.
//   1 / 2 / 3          label: duplicate / similar / not similar
//   g then 0-3         grade (Shift+0 to Shift+3 too); g then - clears the grade
//   n                  focus the note (Esc leaves it)
//   Enter              submit (a label must be picked)
//   s                  skip            u or Ctrl+Z   undo the last submission
//   ?                  show or hide the shortcut help, Esc closes it
// Keys are ignored while typing in a text field (except Enter, which submits, and Esc).
(function () {
  "use strict";
  var gradePending = false;
  var gradeTimer = null;

  function form() { return document.querySelector("[data-review-form]"); }
  function help() { return document.getElementById("shortcut-help"); }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    return tag === "input" && ["radio", "checkbox", "button", "submit"].indexOf(target.type) === -1;
  }

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

  function click(key) {
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (!target || target.disabled) return false;
    target.click();
    return true;
  }

  function setGradeHint(active) {
    var hint = document.getElementById("grade-hint");
    if (hint) hint.classList.toggle("is-active", active);
  }

  function stopGrade() {
    gradePending = false;
    if (gradeTimer) clearTimeout(gradeTimer);
    setGradeHint(false);
  }

  function pickLabel(key) {
    var f = form();
    var input = f && f.querySelector('input[name="label"][data-key="' + key + '"]');
    if (!input) return false;
    input.checked = true;
    input.focus();
    var missing = document.getElementById("label-missing");
    if (missing) missing.hidden = true;
    return true;
  }

  function pickGrade(value) {
    var f = form();
    if (!f) return false;
    var selector = value === "" ? 'input[name="grade"][value=""]' : 'input[name="grade"][data-grade="' + value + '"]';
    var input = f.querySelector(selector);
    if (!input) return false;
    input.checked = true;
    return true;
  }

  function submit() {
    var f = form();
    if (!f) return false;
    if (!f.querySelector('input[name="label"]:checked')) {
      var missing = document.getElementById("label-missing");
      if (missing) missing.hidden = false;
      return true;
    }
    var button = f.querySelector('[data-shortcut="Enter"]');
    if (button && !button.disabled) {
      button.disabled = true; // one submission per key press
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = button.name || "action";
      hidden.value = button.value || "submit";
      if (button.name) f.appendChild(hidden);
      f.submit();
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var key = event.key;
    var box = help();
    if (key === "Escape") {
      if (box && !box.hidden) { toggleHelp(false); return; }
      if (typing(event.target)) { event.target.blur(); return; }
      stopGrade();
      return;
    }
    if (typing(event.target)) {
      if (key === "Enter" && form() && form().contains(event.target)) {
        event.preventDefault();
        submit();
      }
      return;
    }
    if (event.altKey) return;
    if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z")) {
      if (click("u")) event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    if (key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (box && !box.hidden) return; // the help is open: only ? and Esc act

    // Shift+digit gives "!" "@" ... on most layouts: read the physical key.
    var digit = /^Digit([0-9])$/.exec(event.code || "");
    if (event.shiftKey && digit && Number(digit[1]) <= 3) {
      if (pickGrade(digit[1])) event.preventDefault();
      return;
    }
    if (gradePending) {
      stopGrade();
      if (/^[0-9]$/.test(key) || key === "-") {
        pickGrade(key === "-" ? "" : key);
        event.preventDefault();
        return;
      }
    }
    if (key === "g") {
      gradePending = true;
      setGradeHint(true);
      gradeTimer = setTimeout(stopGrade, 3000);
      event.preventDefault();
      return;
    }
    if (key === "1" || key === "2" || key === "3") {
      if (pickLabel(key)) event.preventDefault();
      return;
    }
    if (key === "Enter") {
      var tag = event.target && event.target.tagName ? event.target.tagName.toLowerCase() : "";
      if (tag === "button" || tag === "a") return; // the focused control acts itself
      if (submit()) event.preventDefault();
      else if (click("Enter")) event.preventDefault();
      return;
    }
    if (key === "n") {
      var note = form() && form().querySelector('input[name="note"]');
      if (note) { note.focus(); event.preventDefault(); }
      return;
    }
    if (key === "s" || key === "u") {
      if (click(key)) event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-close-help]");
    if (target) toggleHelp(false);
    var opener = event.target.closest && event.target.closest('[data-shortcut="?"]');
    if (opener && event.isTrusted) toggleHelp();
  });

  // A mouse click on Submit without a label: say what is missing instead of a browser bubble.
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.matches || !f.matches("[data-review-form]")) return;
    var submitter = event.submitter;
    if (submitter && submitter.value === "skip") return;
    if (!f.querySelector('input[name="label"]:checked')) {
      event.preventDefault();
      var missing = document.getElementById("label-missing");
      if (missing) missing.hidden = false;
    }
  });
})();
