// The console's few behaviours, loaded on every page (no inline scripts: the
// Content-Security-Policy allows scripts from this app only).
(function () {
  // a form with data-confirm asks first
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // a conversation opens at its latest message
  var thread = document.getElementById("thread");
  if (thread) thread.scrollTop = thread.scrollHeight;
})();
