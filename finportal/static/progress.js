/* Long jobs (batch packets): a box marked data-status-url asks its JSON status every few
   seconds and is replaced by the server's own rendering of it ("html"), until the job is
   done. Without JavaScript the box says to reload the page: progressive enhancement. */
(function () {
  "use strict";
  function follow(box, tries) {
    var url = box.dataset.statusUrl;
    if (!url || tries > 400) { return; }
    window.setTimeout(function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (status) {
          if (!status || !status.html) { follow(box, tries + 1); return; }
          var holder = document.createElement("div");
          holder.innerHTML = status.html;
          var fresh = holder.firstElementChild;
          if (!fresh) { return; }
          box.replaceWith(fresh);
          if (!status.done) { follow(fresh, tries + 1); }
        })
        .catch(function () { follow(box, tries + 3); });
    }, tries < 10 ? 1500 : 4000);
  }
  document.querySelectorAll("[data-status-url]").forEach(function (box) { follow(box, 0); });
})();
