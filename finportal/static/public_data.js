/* The import page: poll an import's progress until it has finished, then reload. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !box.dataset.progressUrl) { return; }
  var text = document.getElementById("progress-text");
  var tries = 0;
  var poll = function () {
    tries += 1;
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && text) { text.textContent = s.label + (s.rows_total ? " " + s.rows_done + " / " + s.rows_total : ""); }
        if (s && s.done) { window.location.reload(); return; }
        if (tries < 600) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { if (tries < 600) { window.setTimeout(poll, 2000); } });
  };
  window.setTimeout(poll, 500);
})();
