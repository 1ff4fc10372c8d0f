// Fixes to the Django admin's and dj-stripe's markup, on every admin page
// (templates/admin/base_site.html). A file, as the Content-Security-Policy allows no inline script.

// The "filter" icons SelectFilter2 draws (on its own load handler, which runs before this one)
// are spans with an aria-label but no role, which assistive technology may ignore.
window.addEventListener("load", function () {
  document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
    icon.setAttribute("role", "img");
  });
});

// dj-stripe's confirmation pages (templates/djstripe/admin/): while Stripe is called, show the
// spinner instead of the page (its templates did this with inline handlers).
document.addEventListener("DOMContentLoaded", function () {
  var spinner = document.getElementById("div_spinner");
  if (!spinner) {
    return;
  }
  function wait() {
    spinner.hidden = false;
    document.querySelectorAll("#main_content, .messagelist").forEach(function (element) {
      element.hidden = true;
    });
  }
  document.querySelectorAll("#content form").forEach(function (form) {
    form.addEventListener("submit", wait);
  });
  document.querySelectorAll("#content a.cancel-link").forEach(function (link) {
    link.addEventListener("click", wait);
  });
});
