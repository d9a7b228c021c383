// Agents: copy an agent's link, and tint the icon choices with the chosen colour. No inline scripts (CSP).
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      input.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
  var colors = document.querySelector("[data-picker=color]");
  var icons = document.querySelector("[data-picker=icon]");
  if (colors && icons) {
    colors.addEventListener("change", function (event) {
      var color = event.target.value;
      icons.querySelectorAll(".agent-icon").forEach(function (icon) {
        icon.className = icon.className.replace(/agent-accent-[a-z]+/, "agent-accent-" + color);
      });
    });
  }
})();
