// Accounts pages: the copy button next to a newly created API token. (No inline JS: the CSP forbids it.)
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-copy-target]');
  if (!button) { return; }
  var input = document.getElementById(button.getAttribute('data-copy-target'));
  if (!input) { return; }
  var done = function () {
    button.textContent = 'Copied';
    setTimeout(function () { button.textContent = 'Copy'; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
  } else {
    input.select();
    document.execCommand('copy');
    done();
  }
});

// The sign-in link carries its one-time code in the URL fragment (#code=123456), which the browser never
// sends to the server. Copy it into the form, then drop it from the address bar and history.
(function () {
  var input = document.querySelector('[data-code-from-fragment]');
  var match = /(?:^|[#&])code=(\d{6})(?:&|$)/.exec(window.location.hash);
  if (!input || !match) { return; }
  input.value = match[1];
  history.replaceState(null, '', window.location.pathname + window.location.search);
})();
