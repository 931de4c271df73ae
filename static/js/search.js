/* The search page: an image can be dropped on the drop zone or pasted (Ctrl+V) anywhere on the
 * page, besides being chosen with the file input; the query's formulas are previewed.
 * Without this script the plain file input and the form still work.
 */
(function () {
  "use strict";

  function setup() {
    var zone = document.getElementById("drop-zone");
    var input = document.getElementById("id_image");
    var preview = document.getElementById("drop-preview");
    var clear = document.getElementById("drop-clear");
    if (!zone || !input) return;
    var objectUrl = null;

    function show() {
      var file = input.files && input.files[0];
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
      if (file && /^image\//.test(file.type)) {
        objectUrl = URL.createObjectURL(file);
        preview.src = objectUrl;
        preview.hidden = false;
        zone.classList.add("has-image");
        clear.hidden = false;
      } else {
        preview.hidden = true;
        preview.removeAttribute("src");
        zone.classList.remove("has-image");
        clear.hidden = !file;
      }
    }

    function useFile(file) {
      if (!file) return;
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      show();
    }

    input.addEventListener("change", show);
    clear.addEventListener("click", function () {
      input.value = "";
      show();
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("is-over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) useFile(files[0]);
    });
    document.addEventListener("paste", function (event) {
      var items = (event.clipboardData && event.clipboardData.items) || [];
      for (var i = 0; i < items.length; i++) {
        if (items[i].kind === "file" && /^image\//.test(items[i].type)) {
          event.preventDefault();
          var file = items[i].getAsFile();
          var ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
          useFile(new File([file], "pasted." + ext, { type: file.type }));
          return;
        }
      }
    });
    show();

    // Live preview of the formulas in the query.
    var text = document.getElementById("id_text");
    var box = document.getElementById("query-preview");
    if (text && box && window.ItembankMath) {
      var update = function () {
        var value = text.value;
        box.hidden = value.indexOf("$") === -1 && value.indexOf("\\(") === -1;
        if (!box.hidden) window.ItembankMath.renderText(box, value);
      };
      text.addEventListener("input", update);
      update();
    }
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
