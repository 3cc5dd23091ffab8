// The agent's reply form: choosing a canned answer fills the message (a file, not inline: the CSP
// allows no inline script).
document.addEventListener("DOMContentLoaded", function () {
  var canned = document.getElementById("reply-canned");
  if (!canned) { return; }
  canned.addEventListener("change", function () {
    var option = this.options[this.selectedIndex];
    if (option.dataset.body) { document.getElementById("reply-body").value = option.dataset.body; }
  });
});
