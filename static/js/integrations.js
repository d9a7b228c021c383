// Integrations page: while a sync is queued or running, poll the status and update it in place.
(function () {
  "use strict";
  var root = document.getElementById("integrations");
  if (!root) { return; }
  var url = root.getAttribute("data-status-url");
  var colours = {never: "secondary", queued: "info", running: "primary", done: "success", failed: "danger"};
  var busy = function (s) { return s === "queued" || s === "running"; };

  function setText(block, name, text) {
    var el = block.querySelector('[data-field="' + name + '"]');
    if (!el) { return; }
    el.textContent = text || "";
    if (name === "error" || name === "notes") { el.classList.toggle("d-none", !text); }
  }

  function render(block, s) {
    block.setAttribute("data-status", s.status);
    var badge = block.querySelector('[data-field="status"]');
    badge.className = "badge text-bg-" + (colours[s.status] || "secondary");
    badge.textContent = s.status;
    var counts = s.files_indexed + " files, " + s.chunks_indexed + " chunks indexed";
    if (s.status === "done") { counts += "; " + s.chunks_embedded + " chunks embedded by the last sync"; }
    setText(block, "counts", counts);
    setText(block, "synced", s.last_synced_at ? "Last synced " + s.last_synced_at.replace("T", " ").slice(0, 16) + " UTC" : "Never synced");
    setText(block, "error", s.error);
    setText(block, "notes", s.notes);
  }

  function anyBusy() {
    var blocks = root.querySelectorAll(".sync-status");
    for (var i = 0; i < blocks.length; i++) {
      if (busy(blocks[i].getAttribute("data-status"))) { return true; }
    }
    return false;
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.github) {
          data.github.repos.forEach(function (repo) {
            var block = root.querySelector('[data-sync-key="repo-' + repo.id + '"]');
            if (block) { render(block, repo); }
          });
        }
        if (data.notion) {
          var block = root.querySelector('[data-sync-key="notion"]');
          if (block) { render(block, data.notion); }
        }
      })
      .catch(function () { /* try again on the next tick */ })
      .then(function () { if (anyBusy()) { window.setTimeout(poll, 1500); } });
  }

  if (anyBusy()) { window.setTimeout(poll, 1000); }
})();
