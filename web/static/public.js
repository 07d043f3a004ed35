/* Public pages: move focus to the error summary when a form comes back with errors (so a
   screen reader reads it first), and make the "Print" buttons print. Everything works without
   this script; it only helps. Loaded from a file: the CSP forbids inline script. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i += 1) {
    buttons[i].hidden = false; /* shown only where it can work: this script is running */
    buttons[i].addEventListener("click", function () {
      window.print();
    });
  }
})();
