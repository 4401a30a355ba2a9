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
})();
