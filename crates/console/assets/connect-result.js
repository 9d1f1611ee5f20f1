// The hosted connect page's result, in popup mode: posts the outcome to the window that
// opened this one, only to the origin the connect session allows (never to any origin),
// then closes.
// Without an opener (the link was opened as a tab, or the provider's pages cut the link),
// it shows a note instead.
(function () {
  "use strict";
  var result = document.getElementById("tether-connect-result");
  if (!result) {
    return;
  }
  var origin = result.getAttribute("data-origin");
  var message = {
    type: "tether:connect",
    outcome: result.getAttribute("data-outcome"),
    integration_id: result.getAttribute("data-integration-id") || null,
    provider: result.getAttribute("data-provider")
  };
  if (window.opener && origin) {
    window.opener.postMessage(message, origin);
    window.close();
    return;
  }
  var note = document.getElementById("tether-connect-no-opener");
  if (note) {
    note.hidden = false;
  }
})();
