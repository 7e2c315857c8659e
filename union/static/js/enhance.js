// Small conveniences for browsers that run scripts. Every page works without
// them: the buttons stay hidden, and the browser's own Print and Copy remain.
"use strict";

document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});

// A button that copies the text of the element named by data-copy, and says so
// in the live region named by data-copy-status.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.dataset.copy);
  var status = document.getElementById(button.dataset.copyStatus);
  if (!source || !status || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        status.textContent = button.dataset.copied;
      },
      function () {
        status.textContent = button.dataset.copyFailed;
      }
    );
  });
});
