// Upload page: drag and drop, several files at once, progress for large uploads (XHR), per-file results.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var zone = document.getElementById("drop-zone");
  var input = document.getElementById("files");
  var button = document.getElementById("upload-button");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-progress-bar");
  var status = document.getElementById("upload-status");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes") || "0", 10);

  function message(kind, text) {
    var div = document.createElement("div");
    div.className = "alert alert-" + kind + " py-2 mb-2";
    div.textContent = text;
    status.appendChild(div);
  }

  function setProgress(percent, label) {
    progress.classList.remove("d-none");
    progress.setAttribute("aria-valuenow", String(percent));
    bar.className = "progress-bar w-pct-" + Math.round(percent / 5) * 5;
    bar.textContent = label || (percent + "%");
  }

  function upload(files) {
    status.textContent = "";
    if (!files || !files.length) { message("warning", "Choose at least one file."); return; }
    var data = new FormData();
    var total = 0;
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    for (var i = 0; i < files.length; i++) { data.append("files", files[i], files[i].name); total += files[i].size; }
    if (maxBytes && total > maxBytes) {
      message("danger", "These files are " + (total / 1048576).toFixed(1) + " MB together; the limit per upload is " +
        Math.floor(maxBytes / 1048576) + " MB. Upload fewer at a time.");
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var pct = Math.round(e.loaded * 100 / e.total);
        setProgress(pct, pct < 100 ? "Uploading " + pct + "%" : "Indexing…");
      }
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (!body) { message("danger", "The upload failed (HTTP " + xhr.status + ")."); return; }
      setProgress(100, "Done");
      (body.indexed || []).forEach(function (item) {
        message("success", item.deleted_file ? "Removed " + item.file + " (empty file)." :
          "Indexed " + item.file + ": " + item.chunks + (item.chunks === 1 ? " chunk" : " chunks") + " (" + item.added + " new).");
      });
      (body.errors || []).forEach(function (item) { message("danger", (item.file || "A file") + ": " + item.error); });
      if (!body.indexed && body.error) { message("danger", body.error); }
      if (body.indexed && body.indexed.length) { window.setTimeout(function () { window.location.reload(); }, 1200); }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      message("danger", "The upload was interrupted. Check your connection and try again.");
    });
    button.disabled = true;
    setProgress(0, "Starting…");
    xhr.send(data);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); upload(input.files); });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("drag-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("drag-over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) { upload(e.dataTransfer.files); }
  });
}());
