// The applicant's pages work without this file; it only adds comfort (a file: the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", function () {
  // The error summary takes focus, so a screen reader reads it first (autofocus does it too).
  var summary = document.getElementById("summary");
  if (summary && document.activeElement !== summary) { summary.focus(); }
  // "Copy": the reference is also selectable text, for browsers without scripts or clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        var done = document.getElementById(button.getAttribute("data-copied"));
        if (done) { done.hidden = false; }
      });
    });
  });
});
