// The profile's export progress bar: polls the status URL while an export is
// queued or running and updates the bar and its sentence in place. A file of
// its own, because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var POLL_MILLISECONDS = 1000;
  var ACTIVE = { queued: true, running: true };
  var box = document.querySelector(".export-status");
  if (!box) {
    return;
  }
  var bar = box.querySelector(".export-progress");
  var message = box.querySelector(".export-message");

  function show(state) {
    box.dataset.status = state.status;
    box.hidden = state.status === "none";
    bar.value = state.progress;
    bar.textContent = state.progress + "%";
    message.textContent = state.message;
  }

  function poll() {
    fetch(box.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (ACTIVE[state.status]) {
          window.setTimeout(poll, POLL_MILLISECONDS);
        }
      })
      .catch(function () {
        // A lost connection or a restarting server: try again a little later.
        window.setTimeout(poll, POLL_MILLISECONDS * 5);
      });
  }

  if (ACTIVE[box.dataset.status]) {
    window.setTimeout(poll, POLL_MILLISECONDS);
  }
})();
