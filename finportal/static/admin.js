/* Admin pages: follow a retraining job (steps and percent) until it ends, then reload. */
(function () {
  "use strict";
  var box = document.getElementById("retrain");
  if (!box || !box.dataset.statusUrl || box.dataset.state === "done" || box.dataset.state === "failed") {
    return;
  }
  var meter = document.getElementById("retrain-meter");
  var percent = document.getElementById("retrain-percent");
  var tries = 0;
  var show = function (s) {
    if (meter) { meter.value = s.percent; meter.textContent = s.percent + "%"; }
    if (percent) { percent.textContent = s.percent; }
    document.querySelectorAll("#retrain-steps li").forEach(function (li, i) {
      var n = i + 1;
      var state = n < s.index ? "done" : (n === s.index && s.state === "running" ? "current" : "todo");
      li.dataset.stepState = state;
      if (state === "current") { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
    });
  };
  var poll = function () {
    tries += 1;
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s) { show(s); }
        if (s && s.done) { window.location.reload(); return; }
        if (tries < 1200) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { if (tries < 1200) { window.setTimeout(poll, 2000); } });
  };
  window.setTimeout(poll, 500);
})();
