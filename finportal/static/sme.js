/* SME pages: poll a screening job until it is done, then reload; stop double submits. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (box && box.dataset.jobUrl) {
    var text = document.getElementById("progress-text");
    var tries = 0;
    // Once the reader has typed in a form of the page, a finished job does not reload it
    // (what was typed would be lost): the box says so, and the reader reloads when ready.
    var typed = false;
    document.addEventListener("input", function (e) {
      if (e.target && e.target.form) { typed = true; }
    });
    var poll = function () {
      tries += 1;
      fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (job && text) { text.textContent = job.label + "……"; }
          if (job && job.done && typed) {
            if (text) { text.textContent = box.dataset.doneText || job.label; }
            return;
          }
          if (job && job.done) { window.location.reload(); return; }
          if (tries < 300) { window.setTimeout(poll, 1000); }
        })
        .catch(function () { if (tries < 300) { window.setTimeout(poll, 2000); } });
    };
    window.setTimeout(poll, 500);
  }
  // A second click while the first submit is on its way would only find the same
  // application (the idempotency key), but there is no need to send it at all.
  document.querySelectorAll("form#application-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
