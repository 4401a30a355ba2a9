/* Every page: ask before a destructive form is sent (forms marked data-confirm="question").
   Kept in a file because the Content-Security-Policy allows no inline script or handler. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.dataset ? form.dataset.confirm : "";
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  /* A choice that decides which fields apply (the bank's decision): a select marked
     data-reveals shows only the parts of its form marked data-shown-for="<its values>";
     with nothing chosen, none. Without JavaScript every part shows, and the server reads
     only the chosen value's fields. */
  document.querySelectorAll("select[data-reveals]").forEach(function (select) {
    var form = select.form;
    if (!form) { return; }
    var reveal = function () {
      form.querySelectorAll("[data-shown-for]").forEach(function (part) {
        var wanted = part.dataset.shownFor.split(" ");
        part.hidden = wanted.indexOf(select.value) < 0;
      });
    };
    select.addEventListener("change", reveal);
    reveal();
  });

  /* A table or listing wider than a narrow screen scrolls sideways inside its own box
     (app.css); such a box takes the keyboard focus, so it can be scrolled without a mouse. */
  function markScrollBoxes() {
    document.querySelectorAll("table, pre").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollBox = "1";
      } else if (!scrolls && box.dataset.scrollBox) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollBox;
      }
    });
  }
  markScrollBoxes();
  /* Widths settle once fonts and images have loaded: check again then. */
  window.addEventListener("load", markScrollBoxes);
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(markScrollBoxes);
  }
  var resized = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resized);
    resized = window.setTimeout(markScrollBoxes, 150);
  });
})();
