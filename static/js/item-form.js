/* The item editor: choice rows, figure order, and a live preview of the item as it will look. */
(function () {
  "use strict";

  var CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩";
  var DEBOUNCE_MS = 250;

  function label(index) {
    return index < CIRCLED.length ? CIRCLED.charAt(index) : "(" + (index + 1) + ")";
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("item-form");
    if (!form) return;
    var math = window.ItembankMath;
    var choiceList = document.getElementById("choice-list");
    var choiceTemplate = document.getElementById("choice-template");
    var addChoice = document.getElementById("add-choice");
    var imageList = document.getElementById("image-list");
    var imageOrder = document.getElementById("id_image_order");
    var fileInput = form.querySelector("input[type=file][name=new_images]");
    var stem = form.querySelector("[name=stem]");
    var explanation = form.querySelector("[name=explanation]");
    var itemType = form.querySelector("[name=item_type]");
    var objectUrls = [];

    /* Choices ------------------------------------------------------------------------- */
    function renumberChoices() {
      var choiceWord = addChoice ? addChoice.dataset.label : "";
      choiceList.querySelectorAll(".choice-row").forEach(function (row, i) {
        row.querySelector(".choice-no").textContent = label(i);
        row.querySelector("input").setAttribute("aria-label", choiceWord + " " + (i + 1));
      });
    }

    if (addChoice && choiceList && choiceTemplate) {
      addChoice.addEventListener("click", function () {
        var row = choiceTemplate.content.firstElementChild.cloneNode(true);
        choiceList.appendChild(row);
        renumberChoices();
        row.querySelector("input").focus();
        updatePreview();
      });
      choiceList.addEventListener("click", function (event) {
        var button = event.target.closest("[data-remove-choice]");
        if (!button) return;
        var rows = choiceList.querySelectorAll(".choice-row");
        var row = button.closest(".choice-row");
        if (rows.length > 1) {
          row.remove();
        } else {
          row.querySelector("input").value = "";
        }
        renumberChoices();
        updatePreview();
      });
    }

    function toggleChoices() {
      var field = document.getElementById("choices-field");
      if (!field || !itemType) return;
      field.classList.toggle("is-optional", itemType.value !== "multiple_choice");
    }

    /* Figures ------------------------------------------------------------------------- */
    function syncImages() {
      if (!imageList) return;
      var ids = [];
      imageList.querySelectorAll(".image-row").forEach(function (row, i) {
        ids.push(row.dataset.imageId);
        var box = row.querySelector("input[type=checkbox]");
        row.classList.toggle("is-removed", box.checked);
        var pos = row.querySelector(".image-pos");
        pos.textContent = pos.textContent.replace(/\d+/, String(i + 1));
      });
      imageOrder.value = ids.join(",");
    }

    if (imageList) {
      imageList.addEventListener("click", function (event) {
        var button = event.target.closest("[data-move]");
        if (!button) return;
        var row = button.closest(".image-row");
        if (button.dataset.move === "up" && row.previousElementSibling) {
          imageList.insertBefore(row, row.previousElementSibling);
        } else if (button.dataset.move === "down" && row.nextElementSibling) {
          imageList.insertBefore(row.nextElementSibling, row);
        }
        button.focus();
        syncImages();
        updatePreview();
      });
      imageList.addEventListener("change", function () {
        syncImages();
        updatePreview();
      });
      syncImages();
    }

    /* Preview ------------------------------------------------------------------------- */
    function render(el, text) {
      if (math) {
        math.renderText(el, text);
      } else {
        el.textContent = text;
      }
    }

    function figureFor(src) {
      var fig = document.createElement("figure");
      fig.className = "figure";
      var img = document.createElement("img");
      img.src = src;
      img.alt = "";
      fig.appendChild(img);
      return fig;
    }

    function previewFigures() {
      var box = document.getElementById("preview-figures");
      box.replaceChildren();
      if (imageList) {
        imageList.querySelectorAll(".image-row").forEach(function (row) {
          if (row.querySelector("input[type=checkbox]").checked) return;
          box.appendChild(figureFor(row.querySelector("img").src));
        });
      }
      objectUrls.forEach(function (url) {
        box.appendChild(figureFor(url));
      });
    }

    function updatePreview() {
      render(document.getElementById("preview-stem"), stem ? stem.value : "");
      var list = document.getElementById("preview-choices");
      list.replaceChildren();
      if (choiceList) {
        var n = 0;
        choiceList.querySelectorAll("input[name=choices]").forEach(function (input) {
          if (!input.value.trim()) return;
          var li = document.createElement("li");
          var no = document.createElement("span");
          no.className = "choice-no";
          no.textContent = label(n++);
          var text = document.createElement("span");
          li.appendChild(no);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(text);
          list.appendChild(li);
          render(text, input.value);
        });
      }
      var explanationBox = document.getElementById("preview-explanation-box");
      var explanationText = explanation ? explanation.value.trim() : "";
      explanationBox.hidden = !explanationText;
      render(document.getElementById("preview-explanation"), explanationText);
      previewFigures();
    }

    if (fileInput) {
      fileInput.addEventListener("change", function () {
        objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
        objectUrls = Array.prototype.map.call(fileInput.files, function (file) {
          return URL.createObjectURL(file);
        });
        updatePreview();
      });
    }

    var schedule = debounce(updatePreview, DEBOUNCE_MS);
    form.addEventListener("input", function (event) {
      if (event.target.matches("textarea, input[type=text]")) schedule();
    });

    /* Leaving with unsaved changes asks first. ---------------------------------------- */
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    if (itemType) itemType.addEventListener("change", toggleChoices);
    form.addEventListener("submit", function () {
      dirty = false;
      syncImages();
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });

    toggleChoices();
    updatePreview();
  });
})();
