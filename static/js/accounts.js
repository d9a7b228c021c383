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
