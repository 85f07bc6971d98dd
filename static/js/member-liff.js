/* Sign in inside the LINE app with LIFF: liff.init, then hand the ID token to the server, which
   asks LINE to verify it. The page never sends a user id of its own. If LIFF cannot start
   (an old LINE version, the SDK did not load), fall back to LINE Login. */
(function () {
  "use strict";
  var box = document.querySelector("[data-liff-id]");
  if (!box) return;
  var status = box.querySelector("[data-liff-status]");
  var fallback = box.getAttribute("data-fallback");

  function fail() {
    if (status) status.textContent = "";
    window.location.replace(fallback);
  }

  if (!window.liff) {
    fail();
    return;
  }
  window.liff
    .init({ liffId: box.getAttribute("data-liff-id") })
    .then(function () {
      if (!window.liff.isLoggedIn()) {
        window.liff.login({ redirectUri: window.location.href });
        return null;
      }
      var token = window.liff.getIDToken();
      if (!token) throw new Error("no ID token");
      var body = new URLSearchParams();
      body.set("id_token", token);
      body.set("next", box.getAttribute("data-next") || "");
      return fetch(box.getAttribute("data-liff-post"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": box.querySelector("input[name=csrfmiddlewaretoken]").value },
        body: body,
      })
        .then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) throw new Error(data.error || "refused");
            window.location.replace(data.next);
          });
        });
    })
    .catch(fail);
})();
